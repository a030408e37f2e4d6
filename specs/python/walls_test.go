package python_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/python"
)

// The attacks of issue #10 that the identity, the narrowed Landlock rules, the built
// environment and the closed descriptors stop, each performed by a task that may call the
// OS (N8N_RUNNERS_STDLIB_ALLOW=*). Label("walls"): `make walls-unprivileged` runs them as a
// plain user too; an entry that only makes sense as root says so and skips.
var _ = Describe("Walls against a task that calls the OS", Label("integration", "walls"), func() {
	root := os.Getuid() == 0

	// run runs a task that makes each attempt of steps (name → statements, with `path` at
	// hand) and returns name → "ok" or the errno it failed with.
	run := func(p *peer, id string, in map[string]any) map[string]any {
		GinkgoHelper()
		steps, _ := in["steps"].(map[string]any)
		code := "import os\npath = _items[0][\"json\"].get(\"path\")\nout = {}\n"
		for _, name := range slices.Sorted(maps.Keys(steps)) {
			body, _ := steps[name].(string)
			code += "try:\n    " + strings.ReplaceAll(body, "\n", "\n    ") + "\n    out[" + strconv.Quote(name) + "] = \"ok\"\n" +
				"except OSError as e:\n    out[" + strconv.Quote(name) + "] = \"errno %d\" % e.errno\n"
		}
		code += "return out"
		o := p.run(id, allItems(code, map[string]any{"json": map[string]any{"path": in["path"]}}))
		got, ok := resultOf(o.terminal).(map[string]any)
		Expect(ok).To(BeTrue(), "the task returns its attempts")
		return got
	}
	allRefused := func(got map[string]any) {
		GinkgoHelper()
		for name, outcome := range got {
			Expect(outcome).To(HavePrefix("errno "), name)
		}
	}
	// open reads the first bytes of path.
	read := "fd = os.open(path, os.O_RDONLY)\nos.read(fd, 64)"

	It("cannot change a root-owned file of the host: chmod, chown, utime, setxattr", func(ctx SpecContext) {
		target := "/usr/bin/env" // not root: a root-owned file the spec user cannot make
		if root {
			dir := GinkgoT().TempDir()
			Expect(os.Chmod(dir, 0o755)).To(Succeed(), "the task's uid may reach it")
			target = filepath.Join(dir, "host-binary")
			Expect(os.WriteFile(target, []byte("#!/bin/sh\n"), 0o755)).To(Succeed())
		}
		before, err := os.Stat(target)
		Expect(err).NotTo(HaveOccurred())
		st, _ := before.Sys().(*syscall.Stat_t)
		Expect(st.Uid).To(BeZero(), "the target is root's")

		p := newRig(ctx, stdlib("*")).connection()
		got := run(p, "T1", map[string]any{"path": target, "steps": map[string]any{
			"chmod setuid": "os.chmod(path, 0o4755)",
			"chown":        "os.chown(path, os.getuid(), os.getgid())",
			"utime":        "os.utime(path, (0, 0))",
			"setxattr":     "os.setxattr(path, 'security.capability', b'\\x01\\x00\\x00\\x02' + b'\\x00' * 16)",
			"user xattr":   "os.setxattr(path, 'user.planted', b'1')",
		}})
		Expect(got).To(HaveLen(5))
		allRefused(got)

		after, err := os.Stat(target)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Mode()).To(Equal(before.Mode()), "mode unchanged")
		Expect(after.ModTime()).To(Equal(before.ModTime()), "times unchanged")
		st2, _ := after.Sys().(*syscall.Stat_t)
		Expect(st2.Uid).To(Equal(st.Uid))
		Expect(st2.Gid).To(Equal(st.Gid))
		_, xerr := syscall.Getxattr(target, "security.capability", make([]byte, 64))
		Expect(xerr).To(HaveOccurred(), "no file capability planted")
	}, SpecTimeout(specTimeout))

	It("runs as a uid that owns nothing on the host, with no capability", func(ctx SpecContext) {
		code := "import os\nfd = os.open('/proc/self/status', os.O_RDONLY)\nst = {}\n" +
			"for line in os.read(fd, 65536).decode().splitlines():\n    k, _, v = line.partition(':')\n    st[k] = v.split()\n" +
			"return {'uid': st['Uid'], 'eff': st['CapEff'][0], 'bnd': st['CapBnd'][0], 'nnp': st['NoNewPrivs'][0], 'groups': st['Groups']}"
		p := newRig(ctx, stdlib("*")).connection()
		got, _ := resultOf(p.run("T1", allItems(code)).terminal).(map[string]any)
		Expect(got).To(HaveKeyWithValue("eff", "0000000000000000"))
		Expect(got).To(HaveKeyWithValue("nnp", "1"))
		if root {
			Expect(got).To(HaveKeyWithValue("groups", BeEmpty()))
			Expect(got).To(HaveKeyWithValue("uid", ConsistOf("1", "1", "1", "1")), "uid 1 in the zygote's user namespace")
			Expect(got).To(HaveKeyWithValue("bnd", "0000000000000000"))
			Expect(python.TaskUID).To(BeNumerically(">", 65535), "a reserved range, not a system or login uid")
		} else {
			me := strconv.Itoa(os.Getuid())
			Expect(got).To(HaveKeyWithValue("uid", ConsistOf(me, me, me, me)), "not root: runwire's own uid")
		}
	}, SpecTimeout(specTimeout))

	Describe("cannot read what is not on its list", func() {
		It("/etc/shadow, /etc's other files, runwire's config under /etc", func(ctx SpecContext) {
			needLandlock()
			steps := map[string]any{
				"shadow": strings.ReplaceAll(read, "path", "'/etc/shadow'"),
				"group":  strings.ReplaceAll(read, "path", "'/etc/group'"),
				"list":   "os.listdir('/etc')",
			}
			if root {
				dir, err := os.MkdirTemp("/etc", "runwire-spec-")
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(os.RemoveAll, dir)
				config := filepath.Join(dir, "config.yaml")
				Expect(os.WriteFile(config, []byte("auth_token: spec-config-secret\n"), 0o644)).To(Succeed())
				Expect(os.Chmod(dir, 0o755)).To(Succeed())
				steps["config"] = strings.ReplaceAll(read, "path", "'"+config+"'")
			}
			p := newRig(ctx, stdlib("*")).connection()
			got := run(p, "T1", map[string]any{"steps": steps})
			Expect(got).To(HaveLen(len(steps)))
			allRefused(got)
			p.healthy("T2")
		}, SpecTimeout(specTimeout))

		It("a token under /run/secrets", func(ctx SpecContext) {
			needLandlock()
			if !root {
				Skip("only root can make /run/secrets; a token file elsewhere is covered by the secrets specs")
			}
			dir := "/run/secrets"
			if _, err := os.Stat(dir); os.IsNotExist(err) {
				Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
				DeferCleanup(os.RemoveAll, dir)
			}
			token := filepath.Join(dir, "runwire-spec-token-"+strconv.Itoa(os.Getpid()))
			Expect(os.WriteFile(token, []byte("spec-run-secret\n"), 0o644)).To(Succeed())
			DeferCleanup(os.Remove, token)
			p := newRig(ctx, stdlib("*")).connection()
			allRefused(run(p, "T1", map[string]any{"path": token, "steps": map[string]any{"read": read}}))
		}, SpecTimeout(specTimeout))

		It("runwire's command line in /proc, other processes, /dev/shm", func(ctx SpecContext) {
			needLandlock()
			shm, err := os.CreateTemp("/dev/shm", "runwire-spec-")
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(os.Remove, shm.Name())
			Expect(shm.Chmod(0o644)).To(Succeed())
			Expect(shm.Close()).To(Succeed())
			runwire := "'/proc/" + strconv.Itoa(os.Getpid()) + "/cmdline'"
			p := newRig(ctx, stdlib("*")).connection()
			got := run(p, "T1", map[string]any{"steps": map[string]any{
				"runwire cmdline": strings.ReplaceAll(read, "path", runwire),
				"pid 1 cmdline":   strings.ReplaceAll(read, "path", "'/proc/1/cmdline'"),
				"proc listing":    "os.listdir('/proc')",
				"shm file":        strings.ReplaceAll(read, "path", "'"+shm.Name()+"'"),
				"shm listing":     "os.listdir('/dev/shm')",
			}})
			Expect(got).To(HaveLen(5))
			allRefused(got)
		}, SpecTimeout(specTimeout))

		It("while what Python needs stays readable: its own /proc entry, the harmless devices, the CPU count", func(ctx SpecContext) {
			p := newRig(ctx, stdlib("*")).connection()
			got := run(p, "T1", map[string]any{"steps": map[string]any{
				"self stat":  strings.ReplaceAll(read, "path", "'/proc/self/stat'"),
				"urandom":    strings.ReplaceAll(read, "path", "'/dev/urandom'"),
				"null write": "fd = os.open('/dev/null', os.O_WRONLY)\nos.write(fd, b'x')",
				"cpu count":  "assert os.cpu_count() >= 1",
				"zoneinfo":   "os.listdir('/usr/share/zoneinfo')",
			}})
			for name, outcome := range got {
				Expect(outcome).To(Equal("ok"), name)
			}
		}, SpecTimeout(specTimeout))
	})

	Describe("the environment", func() {
		// The start environment (in the task's memory, as environ reads it) against os.environ.
		startEnv := func(seen map[string]any) map[string]any {
			initial, _ := seen["initial"].(string)
			out := map[string]any{}
			for _, kv := range strings.Split(initial, "\x00") {
				if name, value, ok := strings.Cut(kv, "="); ok {
					out[name] = value
				}
			}
			return out
		}

		It("a task starts with is what os.environ shows, by default (env access blocked)", func(ctx SpecContext) {
			p := newRig(ctx, stdlib("*"), withEnv("SPEC_KEEP_ME=kept", "N8N_RUNNER_ENV_ALLOW=SPEC_KEEP_ME", "SPEC_HIDDEN=hidden")).connection()
			seen, _ := resultOf(p.runCode("T1", environ).terminal).(map[string]any)
			Expect(seen["environ"]).To(Equal(map[string]any{"SPEC_KEEP_ME": "kept"}))
			Expect(startEnv(seen)).To(Equal(seen["environ"]), "nothing more in the process's memory")
		}, SpecTimeout(specTimeout))

		It("a task starts with is what os.environ shows, with N8N_BLOCK_RUNNER_ENV_ACCESS=false, minus runwire's settings and secrets", func(ctx SpecContext) {
			p := newRig(ctx, stdlib("*"), withEnv("N8N_BLOCK_RUNNER_ENV_ACCESS=false", "SPEC_VISIBLE=yes", "RUNWIRE_SPEC_SETTING=hidden")).connection()
			seen, _ := resultOf(p.runCode("T1", environ).terminal).(map[string]any)
			env, _ := seen["environ"].(map[string]any)
			Expect(env).To(HaveKeyWithValue("SPEC_VISIBLE", "yes"))
			for name := range env {
				Expect(name).NotTo(Or(HavePrefix("RUNWIRE_"), HavePrefix("N8N_RUNNERS_")), "runwire's and n8n's settings are not the task's")
			}
			Expect(env).To(HaveKeyWithValue("HOME", Not(Equal(os.Getenv("HOME")))), "a private HOME")
			// runwire's runtime sets the temp dir variables for the programs a task starts,
			// after the process has started: the only names os.environ has more.
			for _, name := range []string{"TMPDIR", "TEMP", "TMP"} {
				Expect(env).To(HaveKey(name))
				delete(env, name)
			}
			Expect(startEnv(seen)).To(Equal(env))
		}, SpecTimeout(specTimeout))
	})

	It("never gets a descriptor runwire inherited without CLOEXEC", func(ctx SpecContext) {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0) // no O_CLOEXEC: it leaks into what runwire starts
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(syscall.Close, fd)
		p := newRig(ctx, stdlib("*")).connection()
		got := run(p, "T1", map[string]any{"steps": map[string]any{
			"fstat": "os.fstat(" + strconv.Itoa(fd) + ")",
		}})
		Expect(got).To(HaveKeyWithValue("fstat", "errno 9"), "EBADF: not open in the task")
		open := "import os\nreturn sorted(int(n) for n in os.listdir('/proc/self/fd'))"
		fds, _ := resultOf(p.runCode("T2", open).terminal).([]any)
		Expect(len(fds)).To(BeNumerically("<=", 5), "stdio, its channel and the listing itself: %v", fds)
	}, SpecTimeout(specTimeout))

	It("cannot forge a line of runwire's log through its stdout or stderr", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		p := newRig(ctx, stdlib("*"), withLog(log)).connection()
		forged := "level=ERROR msg=\"forged-by-a-task\""
		code := "import os, sys\nfor fd in (1, 2):\n    os.write(fd, b'\\n" + strings.ReplaceAll(forged, `"`, `\"`) + "\\n')\n" +
			"os.system('echo " + "forged-by-a-shell" + " >&2')\n" +
			"st = os.fstat(2)\nreturn {'null': st.st_rdev == os.makedev(1, 3)}"
		Expect(resultOf(p.runCode("T1", code).terminal)).To(Equal(map[string]any{"null": true}), "its fd 2 is /dev/null")
		p.healthy("T2")
		Consistently(log).WithTimeout(quiet).ShouldNot(gbytes.Say("forged-by-a"))
	}, SpecTimeout(specTimeout))

	It("is refused, like every task after it, when its process fails to apply Landlock (RUNWIRE_PYTHON_WALLS=require)", func(ctx SpecContext) {
		if python.LandlockABI() < 1 {
			Skip("this kernel has no Landlock: under require the executor refuses to boot instead, and no child can fail to apply it")
		}
		log := gbytes.NewBuffer()
		r := newRig(ctx, stdlib("*"), withLog(log), withOptions(func(o *python.Options) { o.BreakLandlockForSpecs = true }))
		p := r.connection()
		o := p.runCode("T1", "return 1")
		Expect(o.terminal).To(HaveKeyWithValue("type", typeError))
		Expect(o.terminal).To(HaveKeyWithValue("error", HaveKeyWithValue("message", And(ContainSubstring("Landlock"), ContainSubstring("RUNWIRE_PYTHON_WALLS")))))
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say("weaker than the walls the zygote announced"))
		o = p.runCode("T2", "return 2")
		Expect(o.terminal).To(HaveKeyWithValue("type", typeError), "no later task runs either")
	}, SpecTimeout(specTimeout))
})
