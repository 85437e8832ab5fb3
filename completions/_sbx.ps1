
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sbx' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sbx'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sbx' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a program file in a warm sandbox')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a code snippet given as an argument or on stdin')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure warm-pool runs against a fresh container per run and the engine''s exec')
            [CompletionResult]::new('languages', 'languages', [CompletionResultType]::ParameterValue, 'List the languages, their images and whether each image is present locally')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull images from their registries ahead of time (shown with progress)')
            [CompletionResult]::new('pool', 'pool', [CompletionResultType]::ParameterValue, 'Manage the pools of warm containers')
            [CompletionResult]::new('session', 'session', [CompletionResultType]::ParameterValue, 'Keep one sandbox for several runs: files, and optionally the interpreter''s state')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Control the per-user background agent (normally started on demand)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the engine, images, agent, runtime directory, disk and config')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'List, show and check the config file''s profiles')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent')
            [CompletionResult]::new('guest', 'guest', [CompletionResultType]::ParameterValue, 'The runner inside each container (started by the agent, not by hand)')
            [CompletionResult]::new('keeper', 'keeper', [CompletionResultType]::ParameterValue, 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and CI)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;run' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Language, when the file extension does not say (`sbx languages`)')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language, when the file extension does not say (`sbx languages`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile''s timeout, else `[run] timeout` of the config, else 60s]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Set an environment variable for the program (repeatable)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set an environment variable for the program (repeatable)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Place a local file next to the program, as REMOTE (a relative path; default: the file''s name) (repeatable)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused')
            [CompletionResult]::new('--max-output', '--max-output', [CompletionResultType]::ParameterName, 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'Let the program use at most N of the sandbox''s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Run in this session''s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)')
            [CompletionResult]::new('--no-stdin', '--no-stdin', [CompletionResultType]::ParameterName, 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)')
            [CompletionResult]::new('--no-pool', '--no-pool', [CompletionResultType]::ParameterName, 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;exec' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Language of the snippet (`sbx languages` lists them) [default: the profile''s]')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the snippet (`sbx languages` lists them) [default: the profile''s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Kill the run (build included) after this long, e.g. 500ms, 30s, 2m; exit code 124 [default: the profile''s timeout, else `[run] timeout` of the config, else 60s]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Set an environment variable for the program (repeatable)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set an environment variable for the program (repeatable)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'Working directory of the program inside the sandbox: relative to the directory holding the program and its --file inputs, or absolute')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Place a local file next to the program, as REMOTE (a relative path; default: the file''s name) (repeatable)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Copy what the program wrote under $SBX_OUT (/sbx/out) into DIR, keeping relative paths; links are refused')
            [CompletionResult]::new('--max-output', '--max-output', [CompletionResultType]::ParameterName, 'At most this much output per stream, e.g. 64KiB, 10MiB; a program that writes more is stopped there and sbx exits 123 [default: `[run] max_output` of the config, else 10MiB]')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'Let the program use at most N of the sandbox''s CPUs at once (its processes are pinned to N of them) [default: all the sandbox has]')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Run in this session''s sandbox (id or name, from `sbx session start`): files of its earlier runs are there, and with --keep-state its variables too; runs sent at once go one after the other')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object with the outcome and both outputs instead of streaming them (see README: "JSON results")')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)')
            [CompletionResult]::new('--no-stdin', '--no-stdin', [CompletionResultType]::ParameterName, 'Do not pass stdin to the program, which reads EOF (like `ssh -n`; for loops such as `while read f; do sbx run -n "$f"; done < list`)')
            [CompletionResult]::new('--no-pool', '--no-pool', [CompletionResultType]::ParameterName, 'Run in a fresh container made for this run and removed before sbx returns, instead of a warm one from the pool (slower: the container is created first; `sbx bench` shows by how much)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;bench' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Language whose hello program is run (`sbx languages`)')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language whose hello program is run (`sbx languages`)')
            [CompletionResult]::new('--runs', '--runs', [CompletionResultType]::ParameterName, 'Measured runs per mode')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Runs in flight at once (each mode is measured at this concurrency)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Runs in flight at once (each mode is measured at this concurrency)')
            [CompletionResult]::new('--warmup', '--warmup', [CompletionResultType]::ParameterName, 'Unmeasured rounds of --concurrency runs per mode before measuring')
            [CompletionResult]::new('--modes', '--modes', [CompletionResultType]::ParameterName, 'Modes to measure, comma-separated')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of the table (fields: see README, "sbx bench")')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sbx;languages' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;pull' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'The image of this language (`sbx languages` lists them)')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'The image of this language (`sbx languages` lists them)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'The image of every language')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sbx;pool' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Start the agent and warm a pool so the next run is fast')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show each pool''s size, states, runs and latencies')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Drain every pool, remove every container of this user''s agent and stop the agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;pool;up' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Language of the pool [default: the profile''s, else python]')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the pool [default: the profile''s, else python]')
            [CompletionResult]::new('--warm', '--warm', [CompletionResultType]::ParameterName, 'Containers to have warm when this returns [default: the pool''s min_size, at least 1]')
            [CompletionResult]::new('--min', '--min', [CompletionResultType]::ParameterName, 'Containers kept warm [config: min_size]')
            [CompletionResult]::new('--max', '--max', [CompletionResultType]::ParameterName, 'Never more containers than this [config: max_size]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Recycle containers idle longer than this, never below --min [config: idle_timeout]')
            [CompletionResult]::new('--acquisition-timeout', '--acquisition-timeout', [CompletionResultType]::ParameterName, 'How long a run waits for a free container [config: acquisition_timeout]')
            [CompletionResult]::new('--health-check-interval', '--health-check-interval', [CompletionResultType]::ParameterName, 'How often idle containers are checked [config: health_check_interval]')
            [CompletionResult]::new('--max-lifetime', '--max-lifetime', [CompletionResultType]::ParameterName, 'Recycle containers older than this [config: max_lifetime]')
            [CompletionResult]::new('--max-uses', '--max-uses', [CompletionResultType]::ParameterName, 'Recycle a container after this many runs [config: max_uses]')
            [CompletionResult]::new('--exhaustion', '--exhaustion', [CompletionResultType]::ParameterName, 'When every container is busy: wait, fail-fast or temporary [config: exhaustion]')
            [CompletionResult]::new('--prewarm', '--prewarm', [CompletionResultType]::ParameterName, 'Create --min containers as soon as the pool exists [config: prewarm]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;pool;stats' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between two snapshots with --watch')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many snapshots with --watch')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table (same as --format json)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Redraw every --interval until Ctrl-C (in place on a terminal, successive snapshots otherwise; with --json one document per line)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Redraw every --interval until Ctrl-C (in place on a terminal, successive snapshots otherwise; with --json one document per line)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sbx;pool;down' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Cancel busy runs instead of waiting for them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;pool;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Start the agent and warm a pool so the next run is fast')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show each pool''s size, states, runs and latencies')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Drain every pool, remove every container of this user''s agent and stop the agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;pool;help;up' {
            break
        }
        'sbx;pool;help;stats' {
            break
        }
        'sbx;pool;help;down' {
            break
        }
        'sbx;pool;help;help' {
            break
        }
        'sbx;session' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a session and print its id')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the open sessions')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the open sessions')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'End sessions: each one''s container is wiped and verified (or removed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;session;start' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Language of the session''s runs [default: the profile''s]')
            [CompletionResult]::new('--lang', '--lang', [CompletionResultType]::ParameterName, 'Language of the session''s runs [default: the profile''s]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A name to use instead of the id (unique among open sessions)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End the session after this long without a run')
            [CompletionResult]::new('--max-lifetime', '--max-lifetime', [CompletionResultType]::ParameterName, 'End the session this long after it started')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--keep-state', '--keep-state', [CompletionResultType]::ParameterName, 'Run every program as a cell of one long-lived interpreter, so variables, functions and imports stay (python, javascript)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the session as a JSON object instead of its id')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;session;ls' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array instead of a table')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;session;list' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array instead of a table')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;session;stop' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;session;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a session and print its id')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the open sessions')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'End sessions: each one''s container is wiped and verified (or removed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;session;help;start' {
            break
        }
        'sbx;session;help;ls' {
            break
        }
        'sbx;session;help;stop' {
            break
        }
        'sbx;session;help;help' {
            break
        }
        'sbx;agent' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent if it is not running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the agent: running requests finish first (bounded), then its containers are removed')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Stop the agent (of any version) and start a current one')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the agent''s log')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the agent in the foreground (what `start` spawns)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;agent;start' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;stop' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;restart' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;logs' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Print only the last N lines')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Print only the last N lines')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing new lines as the agent writes them (across rotation)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new lines as the agent writes them (across rotation)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;serve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;agent;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent if it is not running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the agent: running requests finish first (bounded), then its containers are removed')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Stop the agent (of any version) and start a current one')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the agent''s log')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the agent in the foreground (what `start` spawns)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;agent;help;start' {
            break
        }
        'sbx;agent;help;stop' {
            break
        }
        'sbx;agent;help;restart' {
            break
        }
        'sbx;agent;help;status' {
            break
        }
        'sbx;agent;help;logs' {
            break
        }
        'sbx;agent;help;serve' {
            break
        }
        'sbx;agent;help;help' {
            break
        }
        'sbx;doctor' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sbx;profile' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The profiles defined in the config file')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'A profile''s effective settings (defaults filled in), as TOML')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a config file without starting anything (exit 1 if invalid)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;profile;list' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;profile;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;profile;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;profile;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The profiles defined in the config file')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'A profile''s effective settings (defaults filled in), as TOML')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a config file without starting anything (exit 1 if invalid)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;profile;help;list' {
            break
        }
        'sbx;profile;help;show' {
            break
        }
        'sbx;profile;help;check' {
            break
        }
        'sbx;profile;help;help' {
            break
        }
        'sbx;mcp' {
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Serve MCP''s streamable-HTTP transport at http://ADDR/mcp instead of stdio, e.g. 127.0.0.1:8765 (port 0: any free port; the address is printed on stderr). Every request must carry `Authorization: Bearer TOKEN`: SBX_MCP_TOKEN, else a random token printed on stderr')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('--allow-remote', '--allow-remote', [CompletionResultType]::ParameterName, 'With --http: allow an address other than loopback (anyone who can reach it and has the token can run code as you)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sbx;guest' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;keeper' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;generate' {
            [CompletionResult]::new('--completions', '--completions', [CompletionResultType]::ParameterName, 'Directory for the completion scripts')
            [CompletionResult]::new('--man', '--man', [CompletionResultType]::ParameterName, 'Directory for the man pages')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: $XDG_CONFIG_HOME/sbx/config.toml]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Container engine: docker, podman, kubernetes (pods in the cluster of the kubeconfig, see [kubernetes] in the config), bubblewrap (no engine: namespaces made by `bwrap`), or auto (Docker if its socket or DOCKER_HOST is there, else Podman, else bubblewrap if `bwrap` is installed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Config profile for run, exec and pool up/stats/down [default: the `default` profile, else built-in defaults]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr what sbx itself does: agent, socket, spawn, handshake')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print none of sbx''s own messages or progress bars, only errors (a program''s output and requested data are unaffected)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'sbx;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a program file in a warm sandbox')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a code snippet given as an argument or on stdin')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure warm-pool runs against a fresh container per run and the engine''s exec')
            [CompletionResult]::new('languages', 'languages', [CompletionResultType]::ParameterValue, 'List the languages, their images and whether each image is present locally')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull images from their registries ahead of time (shown with progress)')
            [CompletionResult]::new('pool', 'pool', [CompletionResultType]::ParameterValue, 'Manage the pools of warm containers')
            [CompletionResult]::new('session', 'session', [CompletionResultType]::ParameterValue, 'Keep one sandbox for several runs: files, and optionally the interpreter''s state')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Control the per-user background agent (normally started on demand)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the engine, images, agent, runtime directory, disk and config')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'List, show and check the config file''s profiles')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent')
            [CompletionResult]::new('guest', 'guest', [CompletionResultType]::ParameterValue, 'The runner inside each container (started by the agent, not by hand)')
            [CompletionResult]::new('keeper', 'keeper', [CompletionResultType]::ParameterValue, 'PID 1 of each Kubernetes sandbox pod (started by the pod, not by hand)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and CI)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sbx;help;run' {
            break
        }
        'sbx;help;exec' {
            break
        }
        'sbx;help;bench' {
            break
        }
        'sbx;help;languages' {
            break
        }
        'sbx;help;pull' {
            break
        }
        'sbx;help;pool' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Start the agent and warm a pool so the next run is fast')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show each pool''s size, states, runs and latencies')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Drain every pool, remove every container of this user''s agent and stop the agent')
            break
        }
        'sbx;help;pool;up' {
            break
        }
        'sbx;help;pool;stats' {
            break
        }
        'sbx;help;pool;down' {
            break
        }
        'sbx;help;session' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start a session and print its id')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the open sessions')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'End sessions: each one''s container is wiped and verified (or removed)')
            break
        }
        'sbx;help;session;start' {
            break
        }
        'sbx;help;session;ls' {
            break
        }
        'sbx;help;session;stop' {
            break
        }
        'sbx;help;agent' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the agent if it is not running')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the agent: running requests finish first (bounded), then its containers are removed')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Stop the agent (of any version) and start a current one')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent''s pid, version, uptime, socket, engine and pools; exit 1 if it is not running')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the agent''s log')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the agent in the foreground (what `start` spawns)')
            break
        }
        'sbx;help;agent;start' {
            break
        }
        'sbx;help;agent;stop' {
            break
        }
        'sbx;help;agent;restart' {
            break
        }
        'sbx;help;agent;status' {
            break
        }
        'sbx;help;agent;logs' {
            break
        }
        'sbx;help;agent;serve' {
            break
        }
        'sbx;help;doctor' {
            break
        }
        'sbx;help;profile' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'The profiles defined in the config file')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'A profile''s effective settings (defaults filled in), as TOML')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a config file without starting anything (exit 1 if invalid)')
            break
        }
        'sbx;help;profile;list' {
            break
        }
        'sbx;help;profile;show' {
            break
        }
        'sbx;help;profile;check' {
            break
        }
        'sbx;help;mcp' {
            break
        }
        'sbx;help;guest' {
            break
        }
        'sbx;help;keeper' {
            break
        }
        'sbx;help;generate' {
            break
        }
        'sbx;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
