#!/usr/bin/env python3
"""Writes the apply benchmark's inputs into DIR (bench/apply/apply_bench.sh).

gen_people.py create N DIR   people.csv with N people, as tests/e2e/e2e_fixture.h People() makes
gen_people.py adopt N DIR    the same, plus emulator-state.json in which every one of them
                             already has an account (external id = employee id), their OUs
                             and groups exist with the same members: the plan is adopts only.
gen_people.py config ADDR DIR  DIR/idsync.yaml for an emulator at ADDR (the secret from
                             $IDSYNC_BENCH_SECRET), the e2e tests' mapping; scripts/soak
                             builds its config with config() too.
"""
import json
import sys

DEPARTMENTS = ["Engineering/Platform/SRE", "Engineering/Platform", "Engineering/Apps",
               "Sales/EMEA", "Sales", "Finance"]
ROOT = "ou_emulatorroot00000000000000"


def people(n):
    for i in range(n):
        yield {
            "id": str(1000 + i),
            "first": f"First{i}",
            "last": f"Last{i}",
            "email": f"user{i}@example.com",
            "department": DEPARTMENTS[i % 6],
            "status": "active",
            "groups": "staff;oncall" if i % 3 == 0 else "staff",
        }


def config(address, idaas_extra="  rate_limit: {qps: 100000, burst: 100000}\n", extra="",
           connections=4):
    """The idsync config of the benchmarks: `idaas_extra` lines go into `idaas:`, `extra`
    (more sections) at the end."""
    return f"""idaas:
  endpoint: http://{address}
  instance_id: idaas_emulator
  application_id: app_emulator
  client_secret: env:IDSYNC_BENCH_SECRET
  connections: {connections}
  timeout: 30s
{idaas_extra}source:
  type: csv
  path: people.csv
  users: {{key: employee_id}}
  ous: {{from: path, column: department, separator: "/"}}
  groups: {{from: column, column: groups, separator: ";"}}
mapping:
  username: "{{email | local_part | lower}}"
  display_name: "{{first_name}} {{last_name}}"
  email: "{{email}}"
  primary_ou: "{{department}}"
  enabled: "{{status}} != 'terminated'"
target:
  root_ou: {ROOT}
store:
  path: state/idsync.db
{extra}"""


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("employee_id,first_name,last_name,email,department,status,groups\n")
        for p in rows:
            f.write(f'{p["id"]},{p["first"]},"{p["last"]}",{p["email"]},{p["department"]},'
                    f'{p["status"]},{p["groups"]}\n')


def main():
    if sys.argv[1] == "config":
        with open(f"{sys.argv[3]}/idsync.yaml", "w") as f:
            f.write(config(sys.argv[2]))
        return
    mode, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    write_csv(f"{out}/people.csv", people(n))
    if mode != "adopt":
        return
    ous, ou_of_path = [], {}
    for dept in DEPARTMENTS:
        parts = dept.split("/")
        for k in range(1, len(parts) + 1):
            path = "/".join(parts[:k])
            if path in ou_of_path:
                continue
            oid = "ou_bench%022d" % len(ous)
            ou_of_path[path] = oid
            ous.append({"organizationalUnitId": oid, "organizationalUnitName": parts[k - 1],
                        "parentId": ou_of_path["/".join(parts[:k - 1])] if k > 1 else ROOT,
                        "organizationalUnitExternalId": path})
    users, groups = [], {"staff": [], "oncall": []}
    for p in people(n):
        uid = "user_bench%021d" % int(p["id"])
        ou = ou_of_path[p["department"]]
        users.append({"userId": uid, "username": p["email"].split("@")[0].lower(),
                      "displayName": f'{p["first"]} {p["last"]}', "email": p["email"],
                      "emailVerified": True, "userExternalId": p["id"],
                      "primaryOrganizationalUnitId": ou, "organizationalUnitIds": [ou]})
        for g in p["groups"].split(";"):
            groups[g].append(uid)
    state = {
        "format": "idaas-emulator-state/1",
        "instanceId": "idaas_emulator",
        "clients": [{"clientId": "app_emulator", "clientSecret": "emulator-secret",
                     "applicationId": "app_emulator",
                     "permissions": [f"urn:alibaba:idaas:scope:{what}"
                                     for what in ("user:manager_all", "user:read_all",
                                                  "organizational_unit:manager_all",
                                                  "organizational_unit:read_all")],
                     "provisioningScope": {"organizationalUnitIds": [ROOT],
                                           "groupIds": ["group_bench%021d" % k
                                                        for k in range(len(groups))]}}],
        "organizationalUnits": [{"organizationalUnitId": ROOT, "organizationalUnitName": "Root",
                                 "parentId": ""}] + ous,
        "users": users,
        "groups": [{"groupId": "group_bench%021d" % k, "groupName": name,
                    "groupExternalId": name, "userIds": members}
                   for k, (name, members) in enumerate(groups.items())],
    }
    with open(f"{out}/emulator-state.json", "w") as f:
        json.dump(state, f)


if __name__ == "__main__":
    main()
