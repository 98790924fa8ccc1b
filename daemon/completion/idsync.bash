# bash completion for idsync(1). The commands and options are those of
# daemon/src/cli.cpp (CLI11 generates no completion); tests/packaging checks
# that every option of `idsync <command> --help` is completed here.
# Installed as /usr/share/bash-completion/completions/idsync.

# The words offered never contain blanks, so the usual COMPREPLY=($(compgen ...)) is safe.
# shellcheck disable=SC2207
_idsync() {
  local cur prev words cword
  _init_completion || return

  local commands="check-config plan apply run refresh status setup doctor"
  local common="-c --config -v --verbose --log-level --log-format -h --help"

  local command="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      check-config | plan | apply | run | refresh | status | setup | doctor)
        command=${words[i]}
        break
        ;;
    esac
  done

  case $prev in
    -c | --config)
      _filedir '@(yaml|yml)'
      return
      ;;
    -o | --output | --secret-out | --ca-file)
      _filedir
      return
      ;;
    --instance | --ou | --region | --endpoint | --developer-endpoint | --name)
      return
      ;;
    --log-level)
      COMPREPLY=($(compgen -W "trace debug info warn error critical off" -- "$cur"))
      return
      ;;
    --log-format)
      COMPREPLY=($(compgen -W "text json" -- "$cur"))
      return
      ;;
    --format)
      if [[ $command == status ]]; then
        COMPREPLY=($(compgen -W "text json" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "text json csv html" -- "$cur"))
      fi
      return
      ;;
    --allow-deletes)
      return
      ;;
  esac

  local options
  case $command in
    "") COMPREPLY=($(compgen -W "$commands -V --version -h --help" -- "$cur")); return ;;
    check-config) options="$common --connect --admin" ;;
    setup)
      # setup reads no configuration file: its own options only.
      options="-h --help -v --verbose --instance --ou --secret-out --region --endpoint"
      options+=" --developer-endpoint --name --ca-file --dry-run --widen-scope"
      ;;
    plan) options="$common --format -o --output" ;;
    apply) options="$common -y --yes --allow-deletes --format -o --output" ;;
    status) options="$common --format" ;;
    *) options=$common ;;
  esac
  COMPREPLY=($(compgen -W "$options" -- "$cur"))
} && complete -F _idsync idsync
