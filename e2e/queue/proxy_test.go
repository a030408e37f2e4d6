package queue

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer answers every line with the same line, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// echo sends one line over a new connection through the proxy and reads the answer.
func echo(p *Proxy, conn net.Conn, line string) (string, error) {
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(got), err
}

func TestProxyCut(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := strings.TrimPrefix(p.URL(), "http://")

	before, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if got, err := echo(p, before, "hello"); err != nil || got != "hello" {
		t.Fatalf("through the proxy: %q, %v; want hello", got, err)
	}

	const outage = 300 * time.Millisecond
	p.Cut(outage)
	ended := time.Now().Add(outage)
	if got, err := echo(p, before, "still there?"); err == nil {
		t.Errorf("a connection open at the cut still answered %q", got)
	}
	during, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer during.Close()
	if got, err := echo(p, during, "now?"); err == nil && time.Now().Before(ended) {
		t.Errorf("a connection made during the cut answered %q", got)
	}

	// After the outage the proxy forwards again.
	for {
		after, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := echo(p, after, "back")
		after.Close()
		if err == nil && got == "back" {
			if time.Now().Before(ended) {
				t.Errorf("answered before the outage ended")
			}
			return
		}
		if time.Since(ended) > 5*time.Second {
			t.Fatalf("still cut 5 s after the outage: %v", err)
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestCheckAnswer(t *testing.T) {
	if CheckAnswer(7, []byte(`[]`)) == nil {
		t.Errorf("an empty list passes as the answer for 7")
	}
	want := Expected(7)
	if want[0] != (Item{N: 7, K: 0, S: 526339}) || want[9] != (Item{N: 7, K: 9, S: 744961}) {
		t.Errorf("Expected(7) = %v, not what Python's loop gives (526339 ... 744961)", want)
	}
	if err := CheckAnswer(7, []byte(`[{"n":7,"k":0,"s":526339},{"n":7,"k":1,"s":217296},{"n":7,"k":2,"s":908256},{"n":7,"k":3,"s":599213},{"n":7,"k":4,"s":290170},{"n":7,"k":5,"s":981130},{"n":7,"k":6,"s":672087},{"n":7,"k":7,"s":363044},{"n":7,"k":8,"s":54001},{"n":7,"k":9,"s":744961}]`)); err != nil {
		t.Errorf("the right answer fails: %v", err)
	}
	if CheckAnswer(8, []byte(`[{"n":7,"k":0,"s":526339}]`)) == nil {
		t.Errorf("a wrong answer passes")
	}
}
