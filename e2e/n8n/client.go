// Package n8n drives a real n8n (2.41) through its REST API, for runwire's end-to-end suite and
// demo: it sets up the instance owner, logs in, creates and activates workflows, calls their
// webhooks and reads back their executions, with the execution data decoded from n8n's flatted
// form into node runs, items and errors.
//
// The answers this package expects are those of n8n 2.41.1, checked against a running instance:
// every /rest answer is a JSON object whose data field holds the result, and every /rest error is
// a JSON object with a message field (and, outside production mode, a stacktrace).
//
// What a Code node prints is in neither the webhook's answer nor the execution data. For an
// execution that is not manual (a webhook's), n8n 2.41 writes it to its own stdout only when
// started with CODE_ENABLE_STDOUT=true, one line per print call, such as
//
//	[Workflow "rhh29svHn13kK7bJ"][Node "Code"] 'hello from py' 42 {"k": [1]}
//
// for print('hello from py', 42, {'k': [1]}); manual executions send it to the editor instead.
package n8n

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrOwnerExists is returned by SetupOwner when the instance already has an owner: n8n answers
// 400 with the message "Instance owner already setup".
var ErrOwnerExists = errors.New("n8n: instance owner already set up")

// ErrNoExecution is returned by Execution for a numeric id n8n has no execution for, which n8n
// 2.41 answers with 200 and {} (no data field). An id that is not a number is an *APIError
// instead: 400 "Execution ID is not valid".
var ErrNoExecution = errors.New("n8n: no such execution")

// Messages and names n8n uses that the client keys on.
const (
	ownerExistsMessage = "Instance owner already setup"
	authCookie         = "n8n-auth"
	browserIDHeader    = "browser-id"
)

// Default waits and poll intervals.
const (
	// DefaultWebhookWait is how long Webhook retries a 404 after activation. n8n 2.41 registers a
	// single main's webhooks before /activate answers, but with workers or a busy instance the
	// registration can trail it.
	DefaultWebhookWait = 5 * time.Second
	pollInterval       = 100 * time.Millisecond
	// executionsLimit is the page size Executions asks for, n8n's largest.
	executionsLimit = 100
	// excerptLen caps the part of an answer's body quoted in an error.
	excerptLen = 300
)

// Client talks to one n8n over HTTP. It keeps n8n's session cookie in a cookie jar and sends the
// same browser-id header on every request: n8n binds the session to the browser-id sent at login
// and answers 401, clearing the cookie, to a request that carries the cookie without it.
//
// A Client is safe for concurrent use after Login.
type Client struct {
	base        *url.URL
	baseErr     error        // why baseURL did not parse; every request returns it
	http        *http.Client // for /rest: with the session's cookie jar
	public      *http.Client // for webhooks: no cookies, like any caller of a webhook
	jar         http.CookieJar
	browserID   string
	webhookWait time.Duration
}

// NewClient returns a client for the n8n at baseURL, such as http://127.0.0.1:5678. It does not
// contact n8n. A baseURL that is not an absolute http or https URL makes every request fail.
func NewClient(baseURL string) *Client {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	switch {
	case err != nil:
		base = &url.URL{}
	case base.Scheme != "http" && base.Scheme != "https" || base.Host == "":
		err = fmt.Errorf("base URL %q is not an absolute http or https URL", baseURL)
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &Client{
		base:        base,
		baseErr:     err,
		http:        &http.Client{Transport: transport, Jar: jar},
		public:      &http.Client{Transport: transport},
		jar:         jar,
		browserID:   newBrowserID(),
		webhookWait: DefaultWebhookWait,
	}
}

// newBrowserID makes a random browser-id, as n8n's editor does once per browser.
func newBrowserID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "runwire-e2e-" + hex.EncodeToString(b)
}

// CloseIdleConnections closes the client's idle keep-alive connections, and with them their
// goroutines. Call it when done with the client.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
}

// BaseURL returns the n8n address the client talks to, without a trailing slash.
func (c *Client) BaseURL() string {
	return c.base.String()
}

// SetupOwner creates the instance owner on a fresh n8n (POST /rest/owner/setup). n8n also logs
// the client in as that owner, but Login is still what makes the session explicit. When the
// instance already has an owner it returns an error that wraps ErrOwnerExists. The password must
// satisfy n8n's rules: 8 to 64 characters, at least one digit and one capital letter.
func (c *Client) SetupOwner(ctx context.Context, email, password, firstName, lastName string) error {
	body := map[string]string{
		"email":     email,
		"password":  password,
		"firstName": firstName,
		"lastName":  lastName,
	}
	err := c.call(ctx, http.MethodPost, "/rest/owner/setup", nil, body, nil)
	if apiErr, ok := errors.AsType[*APIError](err); ok &&
		apiErr.StatusCode == http.StatusBadRequest && apiErr.Message == ownerExistsMessage {
		return fmt.Errorf("%w (%s)", ErrOwnerExists, apiErr.Message)
	}
	return err
}

// Login signs in with email and password (POST /rest/login) and keeps the session cookie n8n
// sets. It fails when n8n answers 200 without a cookie the client can send back: n8n marks its
// cookie Secure unless N8N_SECURE_COOKIE=false, and Go's cookie jar sends a Secure cookie over
// plain http only to localhost and loopback addresses.
func (c *Client) Login(ctx context.Context, email, password string) error {
	body := map[string]string{"emailOrLdapLoginId": email, "password": password}
	if err := c.call(ctx, http.MethodPost, "/rest/login", nil, body, nil); err != nil {
		return err
	}
	if !c.hasAuthCookie() {
		return fmt.Errorf("n8n: POST /rest/login: answered 200 but left no %s cookie usable on %s"+
			" (is N8N_SECURE_COOKIE=false set for plain http?)", authCookie, c.base.Redacted())
	}
	return nil
}

// hasAuthCookie reports whether the jar holds n8n's session cookie for the base URL.
func (c *Client) hasAuthCookie() bool {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == authCookie && ck.Value != "" {
			return true
		}
	}
	return false
}

// Created identifies a workflow n8n has just stored: its id and the id of its current version,
// which Activate needs.
type Created struct {
	ID        string `json:"id"`
	VersionID string `json:"versionId"`
}

// CreateWorkflow stores wf (POST /rest/workflows) and returns its id and version id. n8n 2.41
// ignores an active flag on creation, so when wf.Active is set CreateWorkflow activates the new
// workflow itself, with Activate.
func (c *Client) CreateWorkflow(ctx context.Context, wf Workflow) (Created, error) {
	var created Created
	if err := c.call(ctx, http.MethodPost, "/rest/workflows", nil, wf, &created); err != nil {
		return Created{}, err
	}
	if created.ID == "" || created.VersionID == "" {
		return Created{}, fmt.Errorf("n8n: POST /rest/workflows: answer has no id or versionId: %+v", created)
	}
	if wf.Active {
		if err := c.Activate(ctx, created.ID, created.VersionID); err != nil {
			return created, err
		}
	}
	return created, nil
}

// Activate publishes version versionID of workflow id, which registers its triggers and
// production webhooks (POST /rest/workflows/:id/activate). n8n 2.41 requires the versionId (400
// without it) and answers 404 "Version not found" for a version the workflow does not have.
func (c *Client) Activate(ctx context.Context, id, versionID string) error {
	path := "/rest/workflows/" + url.PathEscape(id) + "/activate"
	var answer struct {
		Active          bool   `json:"active"`
		ActiveVersionID string `json:"activeVersionId"`
	}
	if err := c.call(ctx, http.MethodPost, path, nil, map[string]string{"versionId": versionID}, &answer); err != nil {
		return err
	}
	if !answer.Active || answer.ActiveVersionID != versionID {
		return fmt.Errorf("n8n: POST %s: answered 200 but active=%t activeVersionId=%q, want true and %q",
			path, answer.Active, answer.ActiveVersionID, versionID)
	}
	return nil
}

// Webhook POSTs body as JSON to the production webhook /webhook/<path> and returns n8n's status
// code and body as they are: a workflow that fails is an answer, not an error. It retries a 404
// (webhook not registered yet) for up to DefaultWebhookWait, then returns the last 404. It
// sends neither the session cookie nor the browser-id: the webhook's item holds the request's
// headers, and these would end up in the workflow's data.
//
// With the workflows of this package (responseMode lastNode, responseData allEntries) n8n 2.41
// answers:
//   - success: 200 with a JSON array of the json of every item of the Code node's output, such
//     as [{"a":1}] for return [{"json": {"a": 1}}];
//   - the Code node fails: 500 with {"message":"Error in workflow"}, whatever the error; its
//     message and description are only in the execution (see Execution and NodeRun.Error);
//   - the Code node fails with continue on fail: 200 with [{"error":"<message>"}], such as
//     [{"error":"boom"}] for raise ValueError("boom");
//   - no runner takes the task: 500 {"message":"Error in workflow"} once n8n's task request
//     timeout (N8N_RUNNERS_TASK_REQUEST_TIMEOUT, 60 s by default) has passed.
func (c *Client) Webhook(ctx context.Context, path string, body any) (status int, respBody []byte, err error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("n8n: webhook %s: encode body: %w", path, err)
	}
	endpoint := "/webhook/" + strings.TrimLeft(path, "/")
	deadline := time.Now().Add(c.webhookWait)
	for {
		status, respBody, err = c.send(ctx, c.public, http.MethodPost, endpoint, nil, payload)
		if err != nil || status != http.StatusNotFound || !time.Now().Before(deadline) {
			return status, respBody, err
		}
		if err := waitPoll(ctx); err != nil {
			return status, respBody, fmt.Errorf("n8n: POST %s: still 404 when the wait ended: %w", endpoint, err)
		}
	}
}

// ExecutionSummary is one execution as GET /rest/executions lists it.
type ExecutionSummary struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflowId"`
	// Status is n8n's: new, running, waiting, success, error, crashed, canceled or unknown.
	Status string `json:"status"`
	// Mode is how it started: webhook, manual, trigger, integrated, ...
	Mode      string    `json:"mode"`
	StartedAt time.Time `json:"startedAt"`
	StoppedAt time.Time `json:"stoppedAt"` // zero while running
	// Finished reports whether the execution has ended (status success, error, crashed or
	// canceled). n8n 2.41 lists no finished field; its own finished flag on GET
	// /rest/executions/:id is true only for a success.
	Finished bool `json:"-"`
}

// ended reports whether an execution with this status has stopped for good.
func ended(status string) bool {
	switch status {
	case "success", "error", "crashed", "canceled":
		return true
	}
	return false
}

// Executions lists the newest executions of one workflow, at most 100, newest first
// (GET /rest/executions?filter={"workflowId":...}).
func (c *Client) Executions(ctx context.Context, workflowID string) ([]ExecutionSummary, error) {
	filter, err := json.Marshal(map[string]string{"workflowId": workflowID})
	if err != nil {
		return nil, fmt.Errorf("n8n: executions of %s: encode filter: %w", workflowID, err)
	}
	query := url.Values{"filter": {string(filter)}, "limit": {strconv.Itoa(executionsLimit)}}
	var page struct {
		Results []ExecutionSummary `json:"results"`
	}
	if err := c.call(ctx, http.MethodGet, "/rest/executions", query, nil, &page); err != nil {
		return nil, err
	}
	for i := range page.Results {
		page.Results[i].Finished = ended(page.Results[i].Status)
	}
	// n8n puts running executions first, then the others by start time; ids grow with time.
	slices.SortStableFunc(page.Results, func(a, b ExecutionSummary) int {
		return compareIDs(b.ID, a.ID)
	})
	return page.Results, nil
}

// ExecutionCount is how many executions of one workflow n8n has (the count of
// GET /rest/executions, which n8n computes exactly below 100,000 rows).
func (c *Client) ExecutionCount(ctx context.Context, workflowID string) (int, error) {
	filter, err := json.Marshal(map[string]string{"workflowId": workflowID})
	if err != nil {
		return 0, fmt.Errorf("n8n: executions of %s: encode filter: %w", workflowID, err)
	}
	query := url.Values{"filter": {string(filter)}, "limit": {"1"}}
	var page struct {
		Count     int  `json:"count"`
		Estimated bool `json:"estimated"`
	}
	if err := c.call(ctx, http.MethodGet, "/rest/executions", query, nil, &page); err != nil {
		return 0, err
	}
	if page.Estimated || page.Count < 0 {
		return 0, fmt.Errorf("n8n: executions of %s: n8n only estimates their count (%d)", workflowID, page.Count)
	}
	return page.Count, nil
}

// compareIDs orders execution ids numerically where both are numbers, as n8n's are.
func compareIDs(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Execution fetches one execution (GET /rest/executions/:id) and decodes its data. An id n8n
// does not know gives an error that wraps ErrNoExecution.
func (c *Client) Execution(ctx context.Context, id string) (*Execution, error) {
	path := "/rest/executions/" + url.PathEscape(id)
	var raw rawExecution
	if err := c.call(ctx, http.MethodGet, path, nil, nil, &raw); err != nil {
		return nil, err
	}
	if raw.ID == "" {
		return nil, fmt.Errorf("%w: GET %s answered 200 without data", ErrNoExecution, path)
	}
	ex, err := raw.decode()
	if err != nil {
		return nil, fmt.Errorf("n8n: GET %s: %w", path, err)
	}
	return ex, nil
}

// LatestExecution waits until the newest execution of workflowID has ended and returns it
// decoded. It polls every 100 ms for as long as ctx allows: give ctx a deadline. When ctx ends
// first, the error says what the wait last saw.
func (c *Client) LatestExecution(ctx context.Context, workflowID string) (*Execution, error) {
	state := "no execution"
	for {
		list, err := c.Executions(ctx, workflowID)
		if err == nil {
			if len(list) > 0 && list[0].Finished {
				return c.Execution(ctx, list[0].ID)
			}
			if len(list) > 0 {
				state = fmt.Sprintf("execution %s still %s", list[0].ID, list[0].Status)
			}
			err = waitPoll(ctx)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("n8n: latest execution of workflow %s: %s: %w", workflowID, state, ctx.Err())
		}
		if err != nil {
			return nil, err
		}
	}
}

// waitPoll waits one poll interval, or less if ctx ends first.
func waitPoll(ctx context.Context) error {
	t := time.NewTimer(pollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// APIError is an answer from n8n's REST API with a status other than 2xx.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	// Message is n8n's message field, if the body is JSON that has one.
	Message string
	// Body is the start of the body, at most 300 bytes.
	Body string
}

func (e *APIError) Error() string {
	detail := e.Message
	if detail == "" {
		detail = e.Body
	}
	return fmt.Sprintf("n8n: %s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), detail)
}

// call sends a /rest request with in, if not nil, as its JSON body, and decodes the data field
// of the answer into out, if not nil. A status other than 2xx is an *APIError.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("n8n: %s %s: encode request: %w", method, path, err)
		}
	}
	status, body, err := c.send(ctx, c.http, method, path, query, payload)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return newAPIError(method, path, status, body)
	}
	if out == nil {
		return nil
	}
	envelope := struct {
		Data any `json:"data"`
	}{Data: out}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("n8n: %s %s: %d but the body is not the expected JSON (%w): %s",
			method, path, status, err, excerpt(body))
	}
	return nil
}

// send makes one request with hc and returns the status and whole body. Requests to /rest carry
// the browser-id header.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, query url.Values, payload []byte) (int, []byte, error) {
	if c.baseErr != nil {
		return 0, nil, fmt.Errorf("n8n: %s %s: %w", method, path, c.baseErr)
	}
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, nil, fmt.Errorf("n8n: %s %s: %w", method, path, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if hc == c.http {
		req.Header.Set(browserIDHeader, c.browserID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("n8n: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("n8n: %s %s: %d, reading the body: %w", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, data, nil
}

// newAPIError describes a non-2xx answer, with n8n's message if the body carries one.
func newAPIError(method, path string, status int, body []byte) *APIError {
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &msg) // not JSON: Body says what came
	return &APIError{Method: method, Path: path, StatusCode: status, Message: msg.Message, Body: excerpt(body)}
}

// excerpt is the start of body, short enough for an error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > excerptLen {
		s = strings.ToValidUTF8(s[:excerptLen], "") + "..." // the cut may split a character
	}
	return s
}

// Execution is one execution with its data decoded.
type Execution struct {
	ID         string
	WorkflowID string
	// Status is n8n's: success, error, crashed, canceled, running, waiting, new or unknown.
	Status string
	// Mode is how it started: webhook, manual, trigger, ...
	Mode string
	// Finished reports whether the execution has ended, as in ExecutionSummary.
	Finished  bool
	StartedAt time.Time
	StoppedAt time.Time
	// LastNodeExecuted is the name of the node that ran last.
	LastNodeExecuted string
	// Error is the error that ended the execution (resultData.error), nil on success. When a
	// node fails it is the same error as that node's run's.
	Error *NodeError
	// Nodes maps each node that ran to its runs, in order (a node runs more than once only in
	// loops).
	Nodes map[string][]NodeRun
	// Data is the whole decoded execution data (startData, resultData, executionData, ...),
	// for what the fields above leave out.
	Data map[string]any
}

// LastRun returns the last run of the named node, or nil if it did not run.
func (e *Execution) LastRun(node string) *NodeRun {
	runs := e.Nodes[node]
	if len(runs) == 0 {
		return nil
	}
	return &runs[len(runs)-1]
}

// NodeRun is one run of one node: an entry of resultData.runData[node].
type NodeRun struct {
	// Status is the run's executionStatus: success or error.
	Status        string
	StartTime     time.Time
	ExecutionTime time.Duration
	// Items are the items of main output 0, each as n8n stores it: a map with "json" and
	// usually "pairedItem", and "error" on an item that failed. Nil when the run has no main
	// output, as when the node failed; empty when the output has no items.
	Items []map[string]any
	// Error is the node's error, nil if it succeeded. With continue on fail (onError
	// continueRegularOutput) a failed Code node succeeds with an item {"json": {"error": msg}}.
	Error *NodeError
	// Raw is the run's entry as decoded, for what the fields above leave out (source, hints,
	// metadata, ...).
	Raw map[string]any
}

// NodeError is an error as n8n stores it in execution data. For a Code node whose Python code
// raised, n8n 2.41 wraps what the runner sent in a WrappedExecutionError: Message and
// Description are the runner's, while the stack is n8n's own JavaScript one (the runner's is
// dropped).
type NodeError struct {
	Message     string
	Description string
	// Name is the JavaScript class of the error, such as WrappedExecutionError.
	Name string
	// Raw is the error as decoded: level, stack, extra, ...
	Raw map[string]any
}

// rawExecution is GET /rest/executions/:id's data before its flatted data is decoded.
type rawExecution struct {
	ID         string    `json:"id"`
	WorkflowID string    `json:"workflowId"`
	Status     string    `json:"status"`
	Mode       string    `json:"mode"`
	StartedAt  time.Time `json:"startedAt"`
	StoppedAt  time.Time `json:"stoppedAt"`
	Data       string    `json:"data"` // flatted
}

// decode turns the answer into an Execution, decoding its flatted data.
func (r rawExecution) decode() (*Execution, error) {
	ex := &Execution{
		ID:         r.ID,
		WorkflowID: r.WorkflowID,
		Status:     r.Status,
		Mode:       r.Mode,
		Finished:   ended(r.Status),
		StartedAt:  r.StartedAt,
		StoppedAt:  r.StoppedAt,
		Nodes:      map[string][]NodeRun{},
	}
	if r.Data == "" {
		return ex, nil // n8n had no data to send, as for an execution not started
	}
	decoded, err := DecodeFlatted([]byte(r.Data))
	if err != nil {
		return nil, fmt.Errorf("execution %s: %w", r.ID, err)
	}
	data, ok := decoded.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("execution %s: data is a %T, not an object", r.ID, decoded)
	}
	ex.Data = data
	result, _ := data["resultData"].(map[string]any)
	ex.LastNodeExecuted, _ = result["lastNodeExecuted"].(string)
	ex.Error = nodeError(result["error"])
	runData, _ := result["runData"].(map[string]any)
	for node, runs := range runData {
		list, _ := runs.([]any)
		for _, run := range list {
			if m, ok := run.(map[string]any); ok {
				ex.Nodes[node] = append(ex.Nodes[node], nodeRun(m))
			}
		}
	}
	return ex, nil
}

// nodeRun reads one entry of runData (n8n's ITaskData).
func nodeRun(m map[string]any) NodeRun {
	run := NodeRun{Raw: m, Error: nodeError(m["error"])}
	run.Status, _ = m["executionStatus"].(string)
	if ms, ok := m["startTime"].(float64); ok {
		run.StartTime = time.UnixMilli(int64(ms))
	}
	if ms, ok := m["executionTime"].(float64); ok {
		run.ExecutionTime = time.Duration(ms * float64(time.Millisecond))
	}
	data, _ := m["data"].(map[string]any)
	outputs, _ := data["main"].([]any)
	if len(outputs) > 0 {
		items, _ := outputs[0].([]any)
		run.Items = make([]map[string]any, 0, len(items))
		for _, it := range items {
			if item, ok := it.(map[string]any); ok {
				run.Items = append(run.Items, item)
			}
		}
	}
	return run
}

// nodeError reads an error object of execution data; nil for anything else.
func nodeError(v any) *NodeError {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	e := &NodeError{Raw: m}
	e.Message, _ = m["message"].(string)
	e.Description, _ = m["description"].(string)
	e.Name, _ = m["name"].(string)
	return e
}
