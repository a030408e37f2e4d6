package python

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// preloadNames is what the zygote imports before it forks, in order: each name of
// N8N_RUNNERS_EXTERNAL_ALLOW ("*" names nothing to import), then RUNWIRE_PYTHON_PRELOAD's,
// each once.
func preloadNames(externalAllow, preload []string) []string {
	var names []string
	for _, name := range slices.Concat(externalAllow, preload) {
		if name != "*" && name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// preloadReport is the ready line's account of the preloads: what loaded (in how long, and
// how many threads it left running), what failed and why, and the zygote's resident memory
// before the preloads, after them, and once ready (collected, frozen and trimmed).
type preloadReport struct {
	Loaded []struct {
		Name    string  `json:"name"`
		MS      float64 `json:"ms"`
		Threads int     `json:"threads"`
	} `json:"loaded"`
	Failed []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
	} `json:"failed"`
	RSSBefore int64 `json:"rssBefore"`
	RSSAfter  int64 `json:"rssAfter"`
	RSS       int64 `json:"rss"`
	Threads   int   `json:"threads"`
}

// logPreloads says what the zygote's preloads did: a WARN per module that failed (it is
// skipped: tasks import it themselves, where the allowlists let them), naming the setting it
// came from, a WARN when preloads left threads running in the zygote (its children have none
// of them: a library that expects its pool may hang), and an INFO with what loaded and what it
// costs the zygote.
func (e *Executor) logPreloads(r *preloadReport, python string) {
	if r == nil {
		return
	}
	for _, f := range r.Failed {
		setting := e.preloadSetting(f.Name)
		e.log.Warn(fmt.Sprintf("Could not preload the Python module %s (%s): %s; it is skipped, and tasks import it themselves where the allowlists allow it. Install it for %s or remove it from %s",
			f.Name, setting, f.Error, python, setting),
			"module", f.Name, "setting", setting)
	}
	var loaded, threaded []string
	for _, l := range r.Loaded {
		loaded = append(loaded, fmt.Sprintf("%s (%.0f ms)", l.Name, l.MS))
		if l.Threads > 0 {
			threaded = append(threaded, fmt.Sprintf("%s (%d)", l.Name, l.Threads))
		}
	}
	if r.Threads > 1 {
		e.log.Warn("Preloaded Python modules left threads running in the zygote; the task processes it forks have none of them, so a library that expects its own threads may hang there. Set its thread count to 1 (e.g. OPENBLAS_NUM_THREADS, passed with N8N_RUNNER_ENV_ALLOW) or remove it from RUNWIRE_PYTHON_PRELOAD",
			"threads", r.Threads, "started_by", strings.Join(threaded, ", "))
	}
	if len(loaded) > 0 {
		e.log.Info("Python modules preloaded in the zygote", "modules", strings.Join(loaded, ", "),
			"zygote_rss_bytes", r.RSS, "added_bytes", max(r.RSSAfter-r.RSSBefore, 0))
	}
}

// preloadSetting names the setting a preloaded module came from, for messages.
func (e *Executor) preloadSetting(name string) string {
	if slices.Contains(e.opts.Preload, name) {
		return "RUNWIRE_PYTHON_PRELOAD"
	}
	return "N8N_RUNNERS_EXTERNAL_ALLOW"
}

// importNote is one module user code imported, as the child's imports frame reports it:
// whether it was in sys.modules already (preloaded by the zygote, or loaded by the runtime)
// and how long the import took.
type importNote struct {
	Name   string  `json:"name"`
	Loaded bool    `json:"loaded"`
	MS     float64 `json:"ms"`
}

// maxImportNotes bounds what runwire reads of one imports frame (the child caps it too; a
// child that escaped its sandbox can write any frame).
const maxImportNotes = 64

// logImports logs a task's imports at DEBUG: "pandas: already loaded, re: 3.1 ms".
func logImports(log *slog.Logger, taskID string, notes []importNote) {
	if len(notes) == 0 || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	parts := make([]string, 0, min(len(notes), maxImportNotes))
	for _, n := range notes[:min(len(notes), maxImportNotes)] {
		name := n.Name[:min(len(n.Name), 200)]
		if n.Loaded {
			parts = append(parts, fmt.Sprintf("%s: already loaded (%.2f ms)", name, n.MS))
		} else {
			parts = append(parts, fmt.Sprintf("%s: imported in %.1f ms", name, n.MS))
		}
	}
	log.Debug("Python task imports", "task_id", taskID, "imports", strings.Join(parts, ", "))
}
