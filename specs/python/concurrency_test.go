package python_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Concurrency", Label("integration"), func() {
	It("runs 5 tasks at once with N8N_RUNNERS_MAX_CONCURRENCY=5, each in its own process, and all succeed", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("N8N_RUNNERS_MAX_CONCURRENCY=5")).connection()
		g := newGate()
		code := "import os, time\nprint(\"started\")\n" + g.wait + "\nreturn [{\"json\": {\"process\": \"%d %s\" % (os.getpid(), " + whoami + ")}}]"
		ids := []string{"T1", "T2", "T3", "T4", "T5"}
		for _, id := range ids {
			p.accept(id)
		}
		for _, id := range ids {
			p.Send(map[string]any{"type": "broker:tasksettings", "taskId": id, "settings": allItems(code, g.item)})
		}
		for _, id := range ids {
			Expect(p.Await(id+" running", isPrint(id))).To(HaveKeyWithValue("params", []any{"'started'"}))
		}
		for _, id := range ids {
			Expect(p.Count(isTerminal(id))).To(BeZero(), "all five run at the same time: %s has not finished", id)
		}

		g.open()
		processes := map[string]bool{}
		for _, id := range ids {
			result, _ := resultOf(p.terminal(id)).([]any)
			Expect(result).To(HaveLen(1))
			item, _ := result[0].(map[string]any)
			data, _ := item["json"].(map[string]any)
			process, _ := data["process"].(string)
			processes[process] = true
		}
		Expect(processes).To(HaveLen(5), "five processes")
	}, SpecTimeout(specTimeout))
})
