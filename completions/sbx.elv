
use builtin;
use str;

set edit:completion:arg-completer[sbx] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'sbx'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'sbx'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run a program file in a warm sandbox'
            cand exec 'Run a code snippet given as an argument or on stdin'
            cand bench 'Measure warm-pool runs against a fresh container per run and the engine''s exec'
            cand languages 'List the languages, their images and whether each image is present locally'
            cand pull 'Pull images from their registries ahead of time (shown with progress)'
            cand pool 'Manage the pools of warm containers'
            cand session 'Keep one sandbox for several runs: files, and optionally the interpreter''s state'
            cand agent 'Control the per-user background agent (normally started on demand)'
            cand doctor 'Check the engine, images, agent, runtime directory, disk and config'
            cand profile 'List, show and check the config file''s profiles'
            cand mcp 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent'
            cand guest 'The runner inside each container (started by the agent, not by hand)'
            cand keeper 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)'
            cand generate 'Write shell completions and man pages (for packagers and CI)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;run'= {
            cand -l 'Language, when the file extension does not say (`sbx languages`)'
            cand --lang 'Language, when the file extension does not say (`sbx languages`)'
            cand --timeout 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile''s timeout, else `[run] timeout` of the config, else 60s]'
            cand -e 'Set an environment variable for the program (repeatable)'
            cand --env 'Set an environment variable for the program (repeatable)'
            cand -w 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute'
            cand --workdir 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute'
            cand --file 'Place a local file next to the program, as REMOTE (a relative path; default: the file''s name) (repeatable)'
            cand --out 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused'
            cand --max-output 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]'
            cand --cpus 'Let the program use at most N of the sandbox''s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]'
            cand --session 'Run in this session''s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")'
            cand -n 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
            cand --no-stdin 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
            cand --no-pool 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;exec'= {
            cand -l 'Language of the snippet (`sbx languages` lists them) [default: the profile''s]'
            cand --lang 'Language of the snippet (`sbx languages` lists them) [default: the profile''s]'
            cand --timeout 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile''s timeout, else `[run] timeout` of the config, else 60s]'
            cand -e 'Set an environment variable for the program (repeatable)'
            cand --env 'Set an environment variable for the program (repeatable)'
            cand -w 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute'
            cand --workdir 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute'
            cand --file 'Place a local file next to the program, as REMOTE (a relative path; default: the file''s name) (repeatable)'
            cand --out 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused'
            cand --max-output 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]'
            cand --cpus 'Let the program use at most N of the sandbox''s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]'
            cand --session 'Run in this session''s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")'
            cand -n 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
            cand --no-stdin 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)'
            cand --no-pool 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;bench'= {
            cand -l 'Language whose hello program is run (`sbx languages`)'
            cand --lang 'Language whose hello program is run (`sbx languages`)'
            cand --runs 'Measured runs per mode'
            cand -c 'Runs in flight at once (each mode is measured at this concurrency)'
            cand --concurrency 'Runs in flight at once (each mode is measured at this concurrency)'
            cand --warmup 'Unmeasured rounds of --concurrency runs per mode before measuring'
            cand --modes 'Modes to measure, comma-separated'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print one JSON object instead of the table (fields: see README, "sbx bench")'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sbx;languages'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print JSON instead of a table'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;pull'= {
            cand -l 'The image of this language (`sbx languages` lists them)'
            cand --lang 'The image of this language (`sbx languages` lists them)'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --all 'The image of every language'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sbx;pool'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand up 'Start the agent and warm a pool so the next run is fast'
            cand stats 'Show each pool''s size, states, runs and latencies'
            cand down 'Drain every pool, remove every container of this user''s agent and stop the agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;pool;up'= {
            cand -l 'Language of the pool [default: the profile''s, else python]'
            cand --lang 'Language of the pool [default: the profile''s, else python]'
            cand --warm 'Containers to have warm when this returns [default: the pool''s min_size, at least 1]'
            cand --min 'Containers kept warm [config: min_size]'
            cand --max 'Never more containers than this [config: max_size]'
            cand --idle-timeout 'Recycle containers idle longer than this, never below --min [config: idle_timeout]'
            cand --acquisition-timeout 'How long a run waits for a free container [config: acquisition_timeout]'
            cand --health-check-interval 'How often idle containers are checked [config: health_check_interval]'
            cand --max-lifetime 'Recycle containers older than this [config: max_lifetime]'
            cand --max-uses 'Recycle a container after this many runs [config: max_uses]'
            cand --exhaustion 'When every container is busy: wait, fail-fast or temporary [config: exhaustion]'
            cand --prewarm 'Create --min containers as soon as the pool exists [config: prewarm]'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;pool;stats'= {
            cand --format 'Output format'
            cand --interval 'Time between two snapshots with --watch'
            cand --count 'Stop after this many snapshots with --watch'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print JSON instead of a table (same as --format json)'
            cand -w 'Redraw every --interval until Ctrl-C (in place on a terminal, successive snapshots otherwise; with --json one document per line)'
            cand --watch 'Redraw every --interval until Ctrl-C (in place on a terminal, successive snapshots otherwise; with --json one document per line)'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sbx;pool;down'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --force 'Cancel busy runs instead of waiting for them'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;pool;help'= {
            cand up 'Start the agent and warm a pool so the next run is fast'
            cand stats 'Show each pool''s size, states, runs and latencies'
            cand down 'Drain every pool, remove every container of this user''s agent and stop the agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;pool;help;up'= {
        }
        &'sbx;pool;help;stats'= {
        }
        &'sbx;pool;help;down'= {
        }
        &'sbx;pool;help;help'= {
        }
        &'sbx;session'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand start 'Start a session and print its id'
            cand ls 'List the open sessions'
            cand list 'List the open sessions'
            cand stop 'End sessions: each one''s container is wiped and verified (or removed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;session;start'= {
            cand -l 'Language of the session''s runs [default: the profile''s]'
            cand --lang 'Language of the session''s runs [default: the profile''s]'
            cand --name 'A name to use instead of the id (unique among open sessions)'
            cand --idle-timeout 'End the session after this long without a run'
            cand --max-lifetime 'End the session this long after it started'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --keep-state 'Run every program as a cell of one long-lived interpreter, so variables, functions and imports stay (python, javascript)'
            cand --json 'Print the session as a JSON object instead of its id'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;session;ls'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print a JSON array instead of a table'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;session;list'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --json 'Print a JSON array instead of a table'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;session;stop'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;session;help'= {
            cand start 'Start a session and print its id'
            cand ls 'List the open sessions'
            cand stop 'End sessions: each one''s container is wiped and verified (or removed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;session;help;start'= {
        }
        &'sbx;session;help;ls'= {
        }
        &'sbx;session;help;stop'= {
        }
        &'sbx;session;help;help'= {
        }
        &'sbx;agent'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand start 'Start the agent if it is not running'
            cand stop 'Stop the agent: running requests finish first (bounded), then its containers are removed'
            cand restart 'Stop the agent (of any version) and start a current one'
            cand status 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
            cand logs 'Print the agent''s log'
            cand serve 'Run the agent in the foreground (what `start` spawns)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;agent;start'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;stop'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;restart'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;status'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;logs'= {
            cand -n 'Print only the last N lines'
            cand --lines 'Print only the last N lines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -f 'Keep printing new lines as the agent writes them (across rotation)'
            cand --follow 'Keep printing new lines as the agent writes them (across rotation)'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;serve'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;agent;help'= {
            cand start 'Start the agent if it is not running'
            cand stop 'Stop the agent: running requests finish first (bounded), then its containers are removed'
            cand restart 'Stop the agent (of any version) and start a current one'
            cand status 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
            cand logs 'Print the agent''s log'
            cand serve 'Run the agent in the foreground (what `start` spawns)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;agent;help;start'= {
        }
        &'sbx;agent;help;stop'= {
        }
        &'sbx;agent;help;restart'= {
        }
        &'sbx;agent;help;status'= {
        }
        &'sbx;agent;help;logs'= {
        }
        &'sbx;agent;help;serve'= {
        }
        &'sbx;agent;help;help'= {
        }
        &'sbx;doctor'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sbx;profile'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'The profiles defined in the config file'
            cand show 'A profile''s effective settings (defaults filled in), as TOML'
            cand check 'Validate a config file without starting anything (exit 1 if invalid)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;profile;list'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;profile;show'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;profile;check'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;profile;help'= {
            cand list 'The profiles defined in the config file'
            cand show 'A profile''s effective settings (defaults filled in), as TOML'
            cand check 'Validate a config file without starting anything (exit 1 if invalid)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;profile;help;list'= {
        }
        &'sbx;profile;help;show'= {
        }
        &'sbx;profile;help;check'= {
        }
        &'sbx;profile;help;help'= {
        }
        &'sbx;mcp'= {
            cand --http 'Serve MCP''s streamable-HTTP transport at http://ADDR/mcp instead of stdio, e.g. 127.0.0.1:8765 (port 0: any free port; the address is printed on stderr). Every request must carry `Authorization: Bearer TOKEN`: SBX_MCP_TOKEN, else a random token printed on stderr'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand --allow-remote 'With --http: allow an address other than loopback (anyone who can reach it and has the token can run code as you)'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sbx;guest'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;keeper'= {
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;generate'= {
            cand --completions 'Directory for the completion scripts'
            cand --man 'Directory for the man pages'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]'
            cand --backend 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)'
            cand --profile 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]'
            cand -v 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand --verbose 'Say on stderr what sbx itself does: agent, socket, spawn, handshake'
            cand -q 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand --quiet 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'sbx;help'= {
            cand run 'Run a program file in a warm sandbox'
            cand exec 'Run a code snippet given as an argument or on stdin'
            cand bench 'Measure warm-pool runs against a fresh container per run and the engine''s exec'
            cand languages 'List the languages, their images and whether each image is present locally'
            cand pull 'Pull images from their registries ahead of time (shown with progress)'
            cand pool 'Manage the pools of warm containers'
            cand session 'Keep one sandbox for several runs: files, and optionally the interpreter''s state'
            cand agent 'Control the per-user background agent (normally started on demand)'
            cand doctor 'Check the engine, images, agent, runtime directory, disk and config'
            cand profile 'List, show and check the config file''s profiles'
            cand mcp 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent'
            cand guest 'The runner inside each container (started by the agent, not by hand)'
            cand keeper 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)'
            cand generate 'Write shell completions and man pages (for packagers and CI)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sbx;help;run'= {
        }
        &'sbx;help;exec'= {
        }
        &'sbx;help;bench'= {
        }
        &'sbx;help;languages'= {
        }
        &'sbx;help;pull'= {
        }
        &'sbx;help;pool'= {
            cand up 'Start the agent and warm a pool so the next run is fast'
            cand stats 'Show each pool''s size, states, runs and latencies'
            cand down 'Drain every pool, remove every container of this user''s agent and stop the agent'
        }
        &'sbx;help;pool;up'= {
        }
        &'sbx;help;pool;stats'= {
        }
        &'sbx;help;pool;down'= {
        }
        &'sbx;help;session'= {
            cand start 'Start a session and print its id'
            cand ls 'List the open sessions'
            cand stop 'End sessions: each one''s container is wiped and verified (or removed)'
        }
        &'sbx;help;session;start'= {
        }
        &'sbx;help;session;ls'= {
        }
        &'sbx;help;session;stop'= {
        }
        &'sbx;help;agent'= {
            cand start 'Start the agent if it is not running'
            cand stop 'Stop the agent: running requests finish first (bounded), then its containers are removed'
            cand restart 'Stop the agent (of any version) and start a current one'
            cand status 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running'
            cand logs 'Print the agent''s log'
            cand serve 'Run the agent in the foreground (what `start` spawns)'
        }
        &'sbx;help;agent;start'= {
        }
        &'sbx;help;agent;stop'= {
        }
        &'sbx;help;agent;restart'= {
        }
        &'sbx;help;agent;status'= {
        }
        &'sbx;help;agent;logs'= {
        }
        &'sbx;help;agent;serve'= {
        }
        &'sbx;help;doctor'= {
        }
        &'sbx;help;profile'= {
            cand list 'The profiles defined in the config file'
            cand show 'A profile''s effective settings (defaults filled in), as TOML'
            cand check 'Validate a config file without starting anything (exit 1 if invalid)'
        }
        &'sbx;help;profile;list'= {
        }
        &'sbx;help;profile;show'= {
        }
        &'sbx;help;profile;check'= {
        }
        &'sbx;help;mcp'= {
        }
        &'sbx;help;guest'= {
        }
        &'sbx;help;keeper'= {
        }
        &'sbx;help;generate'= {
        }
        &'sbx;help;help'= {
        }
    ]
    $completions[$command]
}
