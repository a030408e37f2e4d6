package python_test

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

// Preloads (RUNWIRE_PYTHON_PRELOAD, and every name of N8N_RUNNERS_EXTERNAL_ALLOW): the
// zygote imports them before it forks, so a task's import of one costs nothing; the
// allowlists still decide what user code sees. Each task's imports are logged at DEBUG with
// whether the module was in sys.modules already, which is how these specs tell.
var _ = Describe("Preloaded modules", func() {
	// imports waits for the DEBUG line of taskID's imports and returns its list.
	imports := func(ctx context.Context, log *gbytes.Buffer, taskID string) string {
		GinkgoHelper()
		re := regexp.MustCompile(`msg="Python task imports" task_id=` + taskID + ` imports="([^"]*)"`)
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say(re.String()))
		m := re.FindSubmatch(log.Contents())
		Expect(m).NotTo(BeNil())
		return string(m[1])
	}
	decimalTask := "import decimal\nreturn [{\"json\": {\"d\": str(decimal.Decimal(\"1.1\") + decimal.Decimal(\"2.2\"))}}]"

	It("are in sys.modules before the task imports them: the import costs nothing", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		p := newRig(ctx, stdlib("decimal"), withEnv("RUNWIRE_PYTHON_PRELOAD=decimal"), withLog(log)).connection()
		Expect(p.runCode("T1", decimalTask).terminal).To(Equal(done("T1", `[{"json": {"d": "3.3"}}]`)))
		Expect(imports(ctx, log, "T1")).To(MatchRegexp(`^decimal: already loaded \(`))
		Expect(string(log.Contents())).To(MatchRegexp(`level=INFO msg="Python modules preloaded in the zygote" modules="decimal \(\d+ ms\)" zygote_rss_bytes=\d+`))
	}, SpecTimeout(specTimeout))

	It("without the preload, the same import is the task's own", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		p := newRig(ctx, stdlib("decimal"), withLog(log)).connection()
		Expect(p.runCode("T1", decimalTask).terminal).To(Equal(done("T1", `[{"json": {"d": "3.3"}}]`)))
		Expect(imports(ctx, log, "T1")).To(MatchRegexp(`^decimal: imported in [0-9.]+ ms$`))
		Expect(string(log.Contents())).NotTo(ContainSubstring("Python modules preloaded"))
	}, SpecTimeout(specTimeout))

	It("include each name N8N_RUNNERS_EXTERNAL_ALLOW lists", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		p := newRig(ctx, withEnv("N8N_RUNNERS_EXTERNAL_ALLOW=pip"), withLog(log)).connection()
		o := p.runCode("T1", "import pip\nreturn isinstance(pip.__version__, str)")
		Expect(o.terminal).To(Equal(done("T1", `true`)))
		Expect(imports(ctx, log, "T1")).To(MatchRegexp(`^pip: already loaded \(`))
	}, SpecTimeout(specTimeout))

	It("stay invisible to user code when the allowlists do not cover them", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		p := newRig(ctx, stdlib("sys"), withEnv("RUNWIRE_PYTHON_PRELOAD=decimal"), withLog(log)).connection()
		Eventually(log).WithContext(ctx).WithTimeout(5 * time.Second).Should(gbytes.Say(`Python modules preloaded in the zygote" modules="decimal`))

		// The import, refused by the analyser as n8n's is.
		Expect(p.runCode("T1", decimalTask).terminal).To(Equal(violations("T1",
			"Line 1: Import of standard library module 'decimal' is disallowed. Allowed stdlib modules: sys")))
		// sys.modules holds it (and _decimal, which it loaded), but user code's view does not,
		// also for a name built at run time.
		o := p.runCode("T2", "import sys\nreturn [\"decimal\" in sys.modules, [m for m in sys.modules if \"decimal\" in m], sys.modules.get(\"dec\" + \"imal\")]")
		Expect(o.terminal).To(Equal(done("T2", `[false, [], null]`)))
		msg, desc, _ := errorOf(p.runCode("T3", "import sys\nreturn str(sys.modules[\"decimal\"])").terminal)
		Expect([]string{msg, desc}).To(Equal([]string{"Security violation detected",
			"Import of standard library module 'decimal' is disallowed. Allowed stdlib modules: sys"}))
	}, SpecTimeout(specTimeout))

	It("that fail are logged with their error and setting, and skipped: tasks still run", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		// this prints the Zen of Python as it loads: onto stderr, not into the control channel.
		p := newRig(ctx, stdlib("decimal"), withLog(log), withEnv(
			"RUNWIRE_PYTHON_PRELOAD=runwire_spec_missing,this,decimal",
			"N8N_RUNNERS_EXTERNAL_ALLOW=runwire_spec_missing_package")).connection()
		Expect(p.runCode("T1", decimalTask).terminal).To(Equal(done("T1", `[{"json": {"d": "3.3"}}]`)))
		Expect(imports(ctx, log, "T1")).To(MatchRegexp(`^decimal: already loaded \(`))
		text := string(log.Contents())
		Expect(text).To(ContainSubstring(`level=WARN msg="Could not preload the Python module runwire_spec_missing (RUNWIRE_PYTHON_PRELOAD): ModuleNotFoundError: No module named 'runwire_spec_missing'; it is skipped`))
		Expect(text).To(ContainSubstring(`level=WARN msg="Could not preload the Python module runwire_spec_missing_package (N8N_RUNNERS_EXTERNAL_ALLOW): ModuleNotFoundError: No module named 'runwire_spec_missing_package'; it is skipped`))
		Expect(text).To(MatchRegexp(`Python modules preloaded in the zygote" modules="this \(\d+ ms\), decimal \(\d+ ms\)"`))
		Expect(text).To(ContainSubstring("Beautiful is better than ugly."), "what this printed went to the debug log")
		p.healthy("T2")
	}, SpecTimeout(specTimeout))

	Context("pandas and numpy (Debian's python3-pandas, /usr/bin/python3)", func() {
		const debianPython = "/usr/bin/python3"
		BeforeEach(func() {
			if err := exec.Command(debianPython, "-c", "import pandas").Run(); err != nil { //nolint:gosec // a fixed path
				Skip(fmt.Sprintf("needs Debian's python3-pandas for %s (apt-get install python3-pandas): %v", debianPython, err))
			}
		})

		It("preloaded, work and stay correct in every forked task, one after another and at once", func(ctx SpecContext) {
			log := gbytes.NewBuffer()
			p := newRig(ctx, withLog(log), withEnv("RUNWIRE_PYTHON="+debianPython,
				"RUNWIRE_PYTHON_PRELOAD=pandas", "N8N_RUNNERS_EXTERNAL_ALLOW=pandas,numpy")).connection()
			Eventually(log).WithContext(ctx).WithTimeout(20 * time.Second).Should(gbytes.Say(`Python modules preloaded in the zygote" modules="pandas \(\d+ ms\), numpy \(\d+ ms\)"`))
			Expect(string(log.Contents())).NotTo(ContainSubstring("left threads running"),
				"OpenBLAS loads with one thread: the zygote forks with no other thread")

			// The workload, and a BLAS call (a matrix product) in the forked child.
			code := "import pandas as pd\nimport numpy as np\n" +
				"s = pd.DataFrame([{\"k\": i % 7, \"v\": i} for i in range(200)]).groupby(\"k\")[\"v\"].sum()\n" +
				"a = np.arange(40000, dtype=float).reshape(200, 200)\n" +
				"return [{\"json\": {\"sums\": {str(k): int(v) for k, v in s.items()}, \"trace\": float((a @ a.T).trace())}}]"
			// Σ i² for i < 40000, the trace of a·aᵀ; the group sums of i % 7 over 0..199.
			want := `[{"json": {"sums": {"0": 2842, "1": 2871, "2": 2900, "3": 2929, "4": 2758, "5": 2786, "6": 2814}, "trace": 21332533340000}}]`
			for i := range 3 {
				id := fmt.Sprintf("S%d", i)
				Expect(p.runCode(id, code).terminal).To(Equal(done(id, want)))
				Expect(imports(ctx, log, id)).To(MatchRegexp(`^pandas: already loaded \([0-9.]+ ms\), numpy: already loaded`))
			}
			ids := []string{"C0", "C1", "C2"}
			for _, id := range ids {
				p.start(id, allItems(code, item(`{"n": 1}`)))
			}
			for _, id := range ids {
				Expect(p.terminal(id)).To(Equal(done(id, want)))
			}
		}, SpecTimeout(slowTimeout))
	})
})
