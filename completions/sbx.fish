# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sbx_global_optspecs
    string join \n config= backend= profile= v/verbose q/quiet h/help V/version
end

function __fish_sbx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sbx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sbx_using_subcommand
    set -l cmd (__fish_sbx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sbx -n "__fish_sbx_needs_command" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_needs_command" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_needs_command" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_needs_command" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_needs_command" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_needs_command" -s V -l version -d 'Print version'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "run" -d 'Run a program file in a warm sandbox'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "exec" -d 'Run a code snippet given as an argument or on stdin'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "bench" -d 'Measure warm-pool runs against a fresh container per run and the engine\'s exec'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "languages" -d 'List the languages, their images and whether each image is present locally'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "pull" -d 'Pull images from their registries ahead of time (shown with progress)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "pool" -d 'Manage the pools of warm containers'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "session" -d 'Keep one sandbox for several runs: files, and optionally the interpreter\'s state'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "agent" -d 'Control the per-user background agent (normally started on demand)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "doctor" -d 'Check the engine, images, agent, runtime directory, disk and config'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "profile" -d 'List, show and check the config file\'s profiles'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "mcp" -d 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "guest" -d 'The runner inside each container (started by the agent, not by hand)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "keeper" -d 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "generate" -d 'Write shell completions and man pages (for packagers and CI)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s l -l lang -d 'Language, when the file extension does not say (`sbx languages`)' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l timeout -d 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile\'s timeout, else `[run] timeout` of the config, else 60s]' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -s e -l env -d 'Set an environment variable for the program (repeatable)' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -s w -l workdir -d 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l file -d 'Place a local file next to the program, as REMOTE (a relative path; default: the file\'s name) (repeatable)' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l out -d 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand run" -l max-output -d 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l cpus -d 'Let the program use at most N of the sandbox\'s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l session -d 'Run in this session\'s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand run" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand run" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l json -d 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s n -l no-stdin -d 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l no-pool -d 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s l -l lang -d 'Language of the snippet (`sbx languages` lists them) [default: the profile\'s]' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l timeout -d 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile\'s timeout, else `[run] timeout` of the config, else 60s]' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s e -l env -d 'Set an environment variable for the program (repeatable)' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s w -l workdir -d 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l file -d 'Place a local file next to the program, as REMOTE (a relative path; default: the file\'s name) (repeatable)' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l out -d 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l max-output -d 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l cpus -d 'Let the program use at most N of the sandbox\'s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l session -d 'Run in this session\'s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l json -d 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s n -l no-stdin -d 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -l no-pool -d 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand exec" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand bench" -s l -l lang -d 'Language whose hello program is run (`sbx languages`)' -r
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l runs -d 'Measured runs per mode' -r
complete -c sbx -n "__fish_sbx_using_subcommand bench" -s c -l concurrency -d 'Runs in flight at once (each mode is measured at this concurrency)' -r
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l warmup -d 'Unmeasured rounds of --concurrency runs per mode before measuring' -r
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l modes -d 'Modes to measure, comma-separated' -r -f -a "pool\t'A warm container from the pool (`sbx run`)'
spawn\t'The same, the interpreter started per run (`warm_interpreter = false`)'
fresh\t'A container made and removed for each run (`sbx run --no-pool`)'
exec\t'The engine\'s exec into a running container, per run'"
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand bench" -l json -d 'Print one JSON object instead of the table (fields: see README, "sbx bench")'
complete -c sbx -n "__fish_sbx_using_subcommand bench" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand bench" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand languages" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand languages" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand languages" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand languages" -l json -d 'Print JSON instead of a table'
complete -c sbx -n "__fish_sbx_using_subcommand languages" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand languages" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand languages" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand pull" -s l -l lang -d 'The image of this language (`sbx languages` lists them)' -r
complete -c sbx -n "__fish_sbx_using_subcommand pull" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand pull" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pull" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pull" -l all -d 'The image of every language'
complete -c sbx -n "__fish_sbx_using_subcommand pull" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand pull" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -f -a "up" -d 'Start the agent and warm a pool so the next run is fast'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -f -a "stats" -d 'Show each pool\'s size, states, runs and latencies'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -f -a "down" -d 'Drain every pool, remove every container of this user\'s agent and stop the agent'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and not __fish_seen_subcommand_from up stats down help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -s l -l lang -d 'Language of the pool [default: the profile\'s, else python]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l warm -d 'Containers to have warm when this returns [default: the pool\'s min_size, at least 1]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l min -d 'Containers kept warm [config: min_size]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l max -d 'Never more containers than this [config: max_size]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l idle-timeout -d 'Recycle containers idle longer than this, never below --min [config: idle_timeout]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l acquisition-timeout -d 'How long a run waits for a free container [config: acquisition_timeout]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l health-check-interval -d 'How often idle containers are checked [config: health_check_interval]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l max-lifetime -d 'Recycle containers older than this [config: max_lifetime]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l max-uses -d 'Recycle a container after this many runs [config: max_uses]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l exhaustion -d 'When every container is busy: wait, fail-fast or temporary [config: exhaustion]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l prewarm -d 'Create --min containers as soon as the pool exists [config: prewarm]' -r -f -a "true\t''
false\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l format -d 'Output format' -r -f -a "table\t'A table per pool'
json\t'One JSON document: {"pools": [...]}'
prometheus\t'Prometheus text exposition format (for node-exporter\'s textfile collector)'"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l interval -d 'Time between two snapshots with --watch' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l count -d 'Stop after this many snapshots with --watch' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -l json -d 'Print JSON instead of a table (same as --format json)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -s w -l watch -d 'Redraw every --interval until Ctrl-C (in place on a terminal, successive snapshots otherwise; with --json one document per line)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -l force -d 'Cancel busy runs instead of waiting for them'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "up" -d 'Start the agent and warm a pool so the next run is fast'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Show each pool\'s size, states, runs and latencies'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "down" -d 'Drain every pool, remove every container of this user\'s agent and stop the agent'
complete -c sbx -n "__fish_sbx_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -f -a "start" -d 'Start a session and print its id'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -f -a "ls" -d 'List the open sessions'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -f -a "list" -d 'List the open sessions'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -f -a "stop" -d 'End sessions: each one\'s container is wiped and verified (or removed)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and not __fish_seen_subcommand_from start ls list stop help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -s l -l lang -d 'Language of the session\'s runs [default: the profile\'s]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l name -d 'A name to use instead of the id (unique among open sessions)' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l idle-timeout -d 'End the session after this long without a run' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l max-lifetime -d 'End the session this long after it started' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l keep-state -d 'Run every program as a cell of one long-lived interpreter, so variables, functions and imports stay (python, javascript)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -l json -d 'Print the session as a JSON object instead of its id'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -l json -d 'Print a JSON array instead of a table'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -l json -d 'Print a JSON array instead of a table'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start a session and print its id'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the open sessions'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from help" -f -a "stop" -d 'End sessions: each one\'s container is wiped and verified (or removed)'
complete -c sbx -n "__fish_sbx_using_subcommand session; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "start" -d 'Start the agent if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "stop" -d 'Stop the agent: running requests finish first (bounded), then its containers are removed'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "restart" -d 'Stop the agent (of any version) and start a current one'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "status" -d 'Show the agent\'s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "logs" -d 'Print the agent\'s log'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "serve" -d 'Run the agent in the foreground (what `start` spawns)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and not __fish_seen_subcommand_from start stop restart status logs serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from restart" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -s n -l lines -d 'Print only the last N lines' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -s f -l follow -d 'Keep printing new lines as the agent writes them (across rotation)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from logs" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start the agent if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop the agent: running requests finish first (bounded), then its containers are removed'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "restart" -d 'Stop the agent (of any version) and start a current one'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the agent\'s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "logs" -d 'Print the agent\'s log'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Run the agent in the foreground (what `start` spawns)'
complete -c sbx -n "__fish_sbx_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -f -a "list" -d 'The profiles defined in the config file'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -f -a "show" -d 'A profile\'s effective settings (defaults filled in), as TOML'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -f -a "check" -d 'Validate a config file without starting anything (exit 1 if invalid)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and not __fish_seen_subcommand_from list show check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "list" -d 'The profiles defined in the config file'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "show" -d 'A profile\'s effective settings (defaults filled in), as TOML'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate a config file without starting anything (exit 1 if invalid)'
complete -c sbx -n "__fish_sbx_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -l http -d 'Serve MCP\'s streamable-HTTP transport at http://ADDR/mcp instead of stdio, e.g. 127.0.0.1:8765 (port 0: any free port; the address is printed on stderr). Every request must carry `Authorization: Bearer TOKEN`: SBX_MCP_TOKEN, else a random token printed on stderr' -r
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -l allow-remote -d 'With --http: allow an address other than loopback (anyone who can reach it and has the token can run code as you)'
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand guest" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand guest" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand guest" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand guest" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand guest" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand guest" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand keeper" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand generate" -l completions -d 'Directory for the completion scripts' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand generate" -l man -d 'Directory for the man pages' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand generate" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]' -r -F
complete -c sbx -n "__fish_sbx_using_subcommand generate" -l backend -d 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)' -r -f -a "auto\t''
docker\t''
podman\t''
kubernetes\t''
bubblewrap\t''"
complete -c sbx -n "__fish_sbx_using_subcommand generate" -l profile -d 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]' -r
complete -c sbx -n "__fish_sbx_using_subcommand generate" -s v -l verbose -d 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
complete -c sbx -n "__fish_sbx_using_subcommand generate" -s q -l quiet -d 'Print none of sbx\'s own messages or progress bars, only errors (a program\'s output and requested data are unaffected)'
complete -c sbx -n "__fish_sbx_using_subcommand generate" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "run" -d 'Run a program file in a warm sandbox'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "exec" -d 'Run a code snippet given as an argument or on stdin'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "bench" -d 'Measure warm-pool runs against a fresh container per run and the engine\'s exec'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "languages" -d 'List the languages, their images and whether each image is present locally'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "pull" -d 'Pull images from their registries ahead of time (shown with progress)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "pool" -d 'Manage the pools of warm containers'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "session" -d 'Keep one sandbox for several runs: files, and optionally the interpreter\'s state'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "agent" -d 'Control the per-user background agent (normally started on demand)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "doctor" -d 'Check the engine, images, agent, runtime directory, disk and config'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "profile" -d 'List, show and check the config file\'s profiles'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "mcp" -d 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "guest" -d 'The runner inside each container (started by the agent, not by hand)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "keeper" -d 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "generate" -d 'Write shell completions and man pages (for packagers and CI)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run exec bench languages pull pool session agent doctor profile mcp guest keeper generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "up" -d 'Start the agent and warm a pool so the next run is fast'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "stats" -d 'Show each pool\'s size, states, runs and latencies'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "down" -d 'Drain every pool, remove every container of this user\'s agent and stop the agent'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from session" -f -a "start" -d 'Start a session and print its id'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from session" -f -a "ls" -d 'List the open sessions'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from session" -f -a "stop" -d 'End sessions: each one\'s container is wiped and verified (or removed)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "start" -d 'Start the agent if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "stop" -d 'Stop the agent: running requests finish first (bounded), then its containers are removed'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "restart" -d 'Stop the agent (of any version) and start a current one'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "status" -d 'Show the agent\'s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "logs" -d 'Print the agent\'s log'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "serve" -d 'Run the agent in the foreground (what `start` spawns)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "list" -d 'The profiles defined in the config file'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "show" -d 'A profile\'s effective settings (defaults filled in), as TOML'
complete -c sbx -n "__fish_sbx_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "check" -d 'Validate a config file without starting anything (exit 1 if invalid)'
