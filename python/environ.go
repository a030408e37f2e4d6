package python

import (
	"slices"
	"strings"
)

// brokerSecrets are never in a Python process's environment, whatever the settings say.
var brokerSecrets = []string{
	"N8N_RUNNERS_GRANT_TOKEN", "N8N_RUNNERS_GRANT_TOKEN_FILE",
	"N8N_RUNNERS_AUTH_TOKEN", "N8N_RUNNERS_AUTH_TOKEN_FILE",
}

// zygoteEnviron builds the zygote's environment (and so every task's) from runwire's, rather
// than filtering runwire's: what a process starts with stays readable in its memory and in
// /proc/<pid>/environ whatever os.environ later says, so it must hold only what user code may
// see.
//
//   - blockEnv (N8N_BLOCK_RUNNER_ENV_ACCESS, the default): only the N8N_RUNNER_ENV_ALLOW names
//     that runwire's environment has, which is what n8n leaves user code in os.environ. Python
//     needs nothing else: runwire starts it with -I -S and an absolute path, and it picks a
//     UTF-8 locale itself where none is set (PEP 538; the variable it sets for that is cleared
//     with the rest of os.environ).
//   - not blocked: runwire's environment without the broker secrets, without runwire's and
//     n8n's own settings (RUNWIRE_*, N8N_RUNNERS_*, N8N_BLOCK_RUNNER_ENV_ACCESS,
//     N8N_RUNNER_ENV_ALLOW) and without its HOME and temp dir variables (ownedByTask); HOME set
//     to home (an empty directory of runwire's), LC_CTYPE set where Python would set it (PEP
//     538), so os.environ and the start environment agree. The N8N_RUNNER_ENV_ALLOW names are
//     kept in any case.
//
// The broker secrets are dropped even when N8N_RUNNER_ENV_ALLOW names them.
func zygoteEnviron(environ []string, blockEnv bool, envAllow []string, home string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || slices.Contains(brokerSecrets, name) {
			continue
		}
		if slices.Contains(envAllow, name) || (!blockEnv && !runwireSetting(name) && !slices.Contains(ownedByTask, name)) {
			out = append(out, kv)
		}
	}
	if blockEnv {
		return out
	}
	if !slices.Contains(envAllow, "HOME") || lookup(out, "HOME") == "" {
		out = append(without(out, "HOME"), "HOME="+home)
	}
	if coercesLocale(out) {
		out = append(out, "LC_CTYPE=C.UTF-8")
	}
	return out
}

// ownedByTask are the variables runwire gives each task a value of its own for: HOME here, the
// temp dir names by the runtime once the task's private directory exists. runwire's own values
// name its directories, not the task's, so they never reach the start environment.
var ownedByTask = []string{"HOME", "TMPDIR", "TEMP", "TMP"}

// runwireSetting is a variable runwire or n8n's runner reads as a setting.
func runwireSetting(name string) bool {
	return strings.HasPrefix(name, "RUNWIRE_") || strings.HasPrefix(name, "N8N_RUNNERS_") ||
		name == "N8N_BLOCK_RUNNER_ENV_ACCESS" || name == "N8N_RUNNER_ENV_ALLOW"
}

// coercesLocale is whether Python would set LC_CTYPE=C.UTF-8 in its own environment at start
// (PEP 538): LC_ALL unset and the LC_CTYPE locale the C one.
func coercesLocale(environ []string) bool {
	if lookup(environ, "LC_ALL") != "" {
		return false
	}
	ctype := lookup(environ, "LC_CTYPE")
	if ctype == "" {
		ctype = lookup(environ, "LANG")
	}
	return ctype == "" || ctype == "C" || ctype == "POSIX"
}

func lookup(environ []string, name string) string {
	for _, kv := range slices.Backward(environ) {
		if n, v, _ := strings.Cut(kv, "="); n == name {
			return v
		}
	}
	return ""
}

func without(environ []string, name string) []string {
	return slices.DeleteFunc(environ, func(kv string) bool { n, _, _ := strings.Cut(kv, "="); return n == name })
}
