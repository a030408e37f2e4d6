package python_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Issue #10.3: the host's unix sockets, with the network allowed (RUNWIRE_PYTHON_NETWORK=allow:
// no network namespace) and denied (neither the network namespace nor Landlock covers a
// pathname socket, and a datagram socketpair needs no socket() call). The spec
// listens on a stream and a datagram socket in a world-accessible directory (mode 0777, so
// that any uid, the task's too, may connect by the file permissions) and on two abstract
// ones; a task with every module tries each way to reach them: socket(AF_UNIX) and a datagram
// socketpair whose end is pointed at the socket by sendto and by connect. None may reach
// any; with the network allowed, TCP to a loopback listener of the spec's still does, so the
// policy is not just "every socket refused". Label("walls"): as root, unprivileged and under make walls-matrix.
var _ = Describe("The host's unix sockets", Label("integration", "walls"), func() {
	DescribeTable("are out of a task's reach, by path and by abstract name, stream and datagram", func(ctx SpecContext, network string) {
		allowed := network == "allow"
		dir, err := os.MkdirTemp("/tmp", "runwire-unix-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		Expect(os.Chmod(dir, 0o755)).To(Succeed()) //nolint:gosec // the point: any uid may pass

		streamPath, dgramPath := filepath.Join(dir, "stream.sock"), filepath.Join(dir, "dgram.sock")
		stream, err := net.ListenUnix("unix", &net.UnixAddr{Name: streamPath, Net: "unix"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stream.Close)
		dgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dgramPath, Net: "unixgram"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(dgram.Close)
		for _, p := range []string{streamPath, dgramPath} {
			Expect(os.Chmod(p, 0o777)).To(Succeed()) //nolint:gosec // writable by every uid: only the walls stand between
		}
		tag := strconv.Itoa(os.Getpid()) + "-" + filepath.Base(dir)
		abstractStream, err := net.ListenUnix("unix", &net.UnixAddr{Name: "@runwire-spec-stream-" + tag, Net: "unix"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(abstractStream.Close)
		abstractDgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "@runwire-spec-dgram-" + tag, Net: "unixgram"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(abstractDgram.Close)
		tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tcp.Close)

		attempts := map[string]string{
			"stream socket, by path":           "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\ns.connect(j['stream'])",
			"datagram socket, by path":         "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'x', j['dgram'])",
			"datagram socketpair, sendto path": "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\na.sendto(b'x', j['dgram'])",
			"datagram socketpair, connect":     "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\na.connect(j['dgram'])\na.send(b'x')",
			"raw (datagram) socketpair":        "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_RAW)\na.sendto(b'x', j['dgram'])",
			"abstract stream socket":           "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\ns.connect('\\0' + j['astream'])",
			"abstract datagram socket":         "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'x', '\\0' + j['adgram'])",
			"abstract, by datagram socketpair": "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\na.sendto(b'x', '\\0' + j['adgram'])",
		}
		code := "import socket\nj = _items[0]['json']\nout = {}\n"
		for name, body := range attempts {
			code += "try:\n" + indent(body) + "\n    out[" + strconv.Quote(name) + "] = 'reached'\n" +
				"except OSError as e:\n    out[" + strconv.Quote(name) + "] = e.errno\n"
		}
		// Python's own machinery keeps its stream pair, and TCP reaches the spec's listener.
		code += "a, b = socket.socketpair()\na.sendall(b'ok')\nout['stream socketpair'] = b.recv(2).decode()\n" +
			"try:\n    c = socket.create_connection(('127.0.0.1', j['tcp']), timeout=5)\n    c.sendall(b'tcp')\n    c.close()\n    out['tcp'] = 'sent'\n" +
			"except OSError as e:\n    out['tcp'] = e.errno\n" +
			"return out"
		in := map[string]any{"json": map[string]any{
			"stream": streamPath, "dgram": dgramPath,
			"astream": "runwire-spec-stream-" + tag, "adgram": "runwire-spec-dgram-" + tag,
			"tcp": tcp.Addr().(*net.TCPAddr).Port,
		}}

		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_NETWORK="+network)).connection()
		got, ok := resultOf(p.run("T1", allItems(code, in)).terminal).(map[string]any)
		Expect(ok).To(BeTrue(), "the task returns its attempts")
		for name := range attempts {
			Expect(got).To(HaveKeyWithValue(name, BeEquivalentTo(1)), "%s: refused with EPERM by runwire's seccomp filter", name)
		}
		Expect(got).To(HaveKeyWithValue("stream socketpair", "ok"))
		buf := make([]byte, 3)
		if allowed {
			// The TCP connection came: the policy is not "every socket refused".
			Expect(got).To(HaveKeyWithValue("tcp", "sent"))
			Expect(tcp.SetDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
			conn, err := tcp.Accept()
			Expect(err).NotTo(HaveOccurred(), "the task's TCP connection")
			Expect(conn.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
			_, err = conn.Read(buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf)).To(Equal("tcp"))
			Expect(conn.Close()).To(Succeed())
		} else {
			Expect(got).To(HaveKeyWithValue("tcp", BeEquivalentTo(1)), "no network: socket(AF_INET) refused")
		}
		// Nothing came to the unix sockets (the task has ended, so anything it sent is
		// queued by now).
		for _, l := range []*net.UnixListener{stream, abstractStream} {
			Expect(l.SetDeadline(time.Now())).To(Succeed())
			_, err := l.Accept()
			Expect(isTimeout(err)).To(BeTrue(), "no connection reached %s: %v", l.Addr(), err)
		}
		for _, c := range []*net.UnixConn{dgram, abstractDgram} {
			Expect(c.SetReadDeadline(time.Now())).To(Succeed())
			_, _, err := c.ReadFrom(buf)
			Expect(isTimeout(err)).To(BeTrue(), "no datagram reached %s: %v", c.LocalAddr(), err)
		}

		// The same attempts without the walls reach every socket, so the task's EPERMs are
		// the walls', not sockets that would not have answered.
		control := "import json, os, socket\nj = json.loads(os.environ['J'])\nout = {}\n"
		for name, body := range attempts {
			control += "try:\n" + indent(body) + "\n    out[" + strconv.Quote(name) + "] = 'reached'\n" +
				"except OSError as e:\n    out[" + strconv.Quote(name) + "] = e.errno\n"
		}
		control += "print(json.dumps(out))"
		reached := unfilteredJSON(ctx, control, in["json"])
		Expect(reached).To(HaveLen(len(attempts)))
		for name := range attempts {
			Expect(reached).To(HaveKeyWithValue(name, "reached"), "%s, in a plain process of the spec's user", name)
		}
	},
		Entry("with the network allowed (RUNWIRE_PYTHON_NETWORK=allow; TCP still reaches a loopback listener)", "allow", SpecTimeout(specTimeout)),
		Entry("with the network denied (the default)", "deny", SpecTimeout(specTimeout)),
	)
})

// unfilteredJSON runs code in a plain Python process of the spec's user (no walls), with
// params as JSON in $J, and decodes the JSON object it prints.
func unfilteredJSON(ctx context.Context, code string, params any) map[string]any {
	GinkgoHelper()
	j, err := json.Marshal(params)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.CommandContext(ctx, interpreterPath(), "-I", "-S", "-c", code) //nolint:gosec // the spec's own code
	cmd.Env = []string{"J=" + string(j), "PATH=/usr/bin:/bin"}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	Expect(cmd.Run()).To(Succeed(), stderr.String())
	var got map[string]any
	Expect(json.Unmarshal(out.Bytes(), &got)).To(Succeed(), out.String())
	return got
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
