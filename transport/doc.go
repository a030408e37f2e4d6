// Package transport is runwire's side of the wire to n8n's task broker: the grant-token
// exchange, the WebSocket dial and the classification of its failures, the connection (one
// reader, one pinger, concurrent-safe sends) and the typed broker and runner messages with
// their JSON codec.
//
// Entry points:
//   - [Dialer.Dial] fetches a fresh grant token when it has an auth token, opens
//     ws(s)://<host:port>/runners/_ws?id=<runner id>, and returns a [Conn] once the broker
//     has sent broker:inforequest, that is once it has accepted the runner.
//   - [FetchGrantToken] is the POST /runners/auth exchange on its own.
//   - [Encode] and [Decode] turn runner messages into frames and frames into broker messages.
//
// Errors that mean "these credentials will not work, do not retry" match [ErrAuthRejected];
// every other dial error is transient. Nothing here logs a token or a message's content.
//
// The package knows nothing of the state machine's rules or of tasks.
package transport
