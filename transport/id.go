package transport

import "crypto/rand"

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewID returns a random 22-character alphanumeric identifier (about 131 bits), the shape of
// the ids n8n's Python runner uses for runners, offers and RPC calls.
func NewID() string {
	const n = 22
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms.
		for _, b := range buf {
			// 6 random bits, rejecting values past the alphabet keeps the draw uniform.
			if v := b & 63; int(v) < len(idAlphabet) && len(out) < n {
				out = append(out, idAlphabet[v])
			}
		}
	}
	return string(out)
}
