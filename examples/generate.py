#!/usr/bin/env python3
"""Regenerates the example sources (csv/, ldif/, hrfeed/): 50 people across a
nested department tree and a few groups, with deliberate edge cases:
quoted commas, non-ASCII names, terminated employees, one record with a
missing field. Deterministic: running it twice gives the same files."""
import base64, csv, io, json, os

HERE = os.path.dirname(os.path.abspath(__file__))

# (id, parent, name, path)
DEPTS = [
    ("D1", "", "Engineering"), ("D11", "D1", "Platform"), ("D111", "D11", "SRE"),
    ("D12", "D1", "Applications"), ("D2", "", "Sales"), ("D21", "D2", "Sales APAC"),
    ("D22", "D2", "Sales EMEA"), ("D3", "", "Finance"), ("D4", "", "People Operations"),
]
BY_ID = {d[0]: d for d in DEPTS}

def path_of(did):
    parts = []
    while did:
        parts.append(BY_ID[did][2])
        did = BY_ID[did][1]
    return list(reversed(parts))

FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "John",
         "Radia", "Edsger", "Hedy", "Donald", "Katherine", "Tim", "Sophie", "Guido", "Lucía", "Bjarne"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Allen", "Backus", "Perlman", "Dijkstra", "Lamarr", "Knuth", "Johnson", "Berners-Lee",
        "Wilson", "van Rossum", "Fernández", "Stroustrup"]
SPECIAL = {  # index -> (first, last, email local part): non-ASCII names
    3: ("伟", "张", "zhang.wei"), 4: ("José", "Álvarez", "jose.alvarez"), 5: ("Zoë", "Müller", "zoe.muller"),
    6: ("芳", "王", "wang.fang"), 7: ("François", "Dubois", "francois.dubois"),
}
TITLES = ["Engineer", "Senior Engineer", "Manager", "Director, Sales", "Analyst", "Recruiter"]
TERMINATED = {9, 23, 41}
MISSING_EMAIL = 17
DEPT_OF = ["D111", "D11", "D12", "D1", "D21", "D22", "D2", "D3", "D4", "D111"]

people = []
for i in range(50):
    first, last = FIRST[i % 20], LAST[(i * 7) % 20]
    local = (first + "." + last).lower().replace(" ", "").replace("í", "i").replace("á", "a")
    if i in SPECIAL:
        first, last, local = SPECIAL[i]
    if i >= 20:
        local += str(i)
    dept = DEPT_OF[i % len(DEPT_OF)]
    title = TITLES[4] if dept in ("D3",) else TITLES[3] if dept.startswith("D2") and i % 3 == 0 else TITLES[i % 3]
    groups = ["all-staff"]
    if dept.startswith("D1"):
        groups.append("engineering")
    if dept == "D111" or i % 11 == 0:
        groups.append("on-call")
    people.append({
        "id": str(1000 + i), "first": first, "last": last,
        "email": "" if i == MISSING_EMAIL else f"{local}@example.com",
        "mobile": f"138{i:04d}{(i * 37) % 10000:04d}" if i % 4 else "",
        "dept": dept, "title": title,
        "status": "terminated" if i in TERMINATED else "active",
        "groups": groups, "cost_center": f"CC-{100 + i % 5}",
    })

# ---- CSV: HR export + departments file (id/parent) ----
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\r\n")
w.writerow(["employee_id", "first_name", "last_name", "email", "mobile", "dept_id", "title",
            "status", "groups", "cost_center"])
for p in people:
    w.writerow([p["id"], p["first"], p["last"], p["email"], p["mobile"], p["dept"], p["title"],
                p["status"], ";".join(p["groups"]), p["cost_center"]])
with open(os.path.join(HERE, "csv", "people.csv"), "w", encoding="utf-8", newline="") as f:
    f.write("\ufeff" + buf.getvalue())  # Excel-style BOM and CRLF
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(["dept_id", "parent_id", "dept_name"])
for d in DEPTS:
    w.writerow(d)
with open(os.path.join(HERE, "csv", "departments.csv"), "w", encoding="utf-8", newline="") as f:
    f.write(buf.getvalue())

# ---- LDIF ----
BASE = "ou=People,dc=example,dc=com"
def ou_dn(did):
    return ",".join("ou=" + n for n in reversed(path_of(did))) + "," + BASE

def attr(name, value):
    raw = value.encode("utf-8")
    if any(b > 127 for b in raw) or value.startswith((" ", ":", "<")):
        line = f"{name}:: {base64.b64encode(raw).decode()}"
    else:
        line = f"{name}: {value}"
    out = []
    while len(line) > 76:  # fold long lines as RFC 2849 allows
        out.append(line[:76])
        line = " " + line[76:]
    out.append(line)
    return "\n".join(out)

lines = ["version: 1", "", "# Example LDAP export (content records only).",
         "dn: dc=example,dc=com", "objectClass: domain", "dc: example", "",
         f"dn: {BASE}", "objectClass: organizationalUnit", "ou: People", ""]
for d in DEPTS:
    lines += [f"dn: {ou_dn(d[0])}", "objectClass: organizationalUnit", attr("ou", d[2]),
              attr("description", "Department " + d[0]), ""]
for i, p in enumerate(people):
    uid = p["email"].split("@")[0] if p["email"] else f"user{p['id']}"
    dn = f"uid={uid},{ou_dn(p['dept'])}"
    lines += [f"dn: {dn}", "objectClass: top", "objectClass: person", "objectClass: inetOrgPerson",
              attr("uid", uid), attr("cn", f"{p['first']} {p['last']}"), attr("givenName", p["first"]),
              attr("sn", p["last"])]
    if i != MISSING_EMAIL + 1:  # deliberately missing employeeNumber
        lines.append(attr("employeeNumber", p["id"]))
    if p["email"]:
        lines.append(attr("mail", p["email"]))
        lines.append(attr("mail", p["email"].replace("@example.com", "@corp.example.com")))
    if p["mobile"]:
        lines.append(attr("mobile", p["mobile"]))
    lines.append(attr("title", p["title"]))
    lines.append(attr("employeeType", "terminated" if p["status"] == "terminated" else "staff"))
    if i == 0:
        lines.append(attr("description", "A very long description that is folded over several lines "
                                         "because LDIF writers wrap lines at 76 characters"))
    lines.append("")
lines += ["dn: ou=Groups,dc=example,dc=com", "objectClass: organizationalUnit", "ou: Groups", ""]
GROUPS = [("engineering", "groupOfNames", "member"), ("on-call", "groupOfUniqueNames", "uniqueMember"),
          ("all-staff", "groupOfNames", "member")]
for g, oc, mattr in GROUPS:
    lines += [f"dn: cn={g},ou=Groups,dc=example,dc=com", f"objectClass: {oc}", f"cn: {g}",
              f"description: The {g} group"]
    for p in people:
        if g in p["groups"]:
            uid = p["email"].split("@")[0] if p["email"] else f"user{p['id']}"
            lines.append(attr(mattr, f"uid={uid},{ou_dn(p['dept'])}"))
    lines.append("")
with open(os.path.join(HERE, "ldif", "directory.ldif"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines))

# ---- JSON feed (Workday-report style) ----
entries = []
for p in people:
    e = {
        "Employee_ID": p["id"],
        "Worker": {"First_Name": p["first"], "Last_Name": p["last"], "Job_Title": p["title"]},
        "Contact": {"Email": p["email"], "Mobile": p["mobile"] or None},
        "Organization_Path": " > ".join(path_of(p["dept"])),
        "Active": p["status"] != "terminated",
        "Groups": [{"Name": g} for g in p["groups"]],
        "Cost_Center": p["cost_center"],
    }
    if not p["email"]:
        del e["Contact"]["Email"]
    entries.append(e)
with open(os.path.join(HERE, "hrfeed", "feed.json"), "w", encoding="utf-8") as f:
    json.dump({"Report_Entry": entries, "Total": len(entries)}, f, ensure_ascii=False, indent=1)
    f.write("\n")
