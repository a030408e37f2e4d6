package n8n

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The answers below are n8n 2.41.1's, recorded from a running instance; stack traces are cut
// short and ids and the browser-id replaced.
const (
	ownerExistsBody   = `{"code":400,"message":"Instance owner already setup","stacktrace":"ResponseError: Instance owner already setup\n    at OwnershipService.setupOwner (ownership.service.ts:269:10)"}`
	invalidEmailBody  = `{"validation":"email","code":"invalid_string","message":"Invalid email","path":["email"]}`
	wrongPasswordBody = `{"code":401,"message":"Wrong username or password. Do you have caps lock on?","stacktrace":"ResponseError: Wrong username or password. Do you have caps lock on?\n    at AuthController.authenticateWithPassword (auth.controller.ts:158:10)"}`
	unauthorizedBody  = `{"status":"error","message":"Unauthorized"}`
	noVersionIDBody   = `{"code":"invalid_type","expected":"string","received":"undefined","path":["versionId"],"message":"Required"}`
	noVersionBody     = `{"code":404,"message":"Version not found","stacktrace":"ResponseError: Version not found\n    at WorkflowService.activateWorkflow (workflow.service.ts:976:11)"}`
	notRegisteredBody = `{"code":404,"message":"The requested webhook \"POST %s\" is not registered.","hint":"The workflow must be active for a production URL to run successfully."}`
	workflowErrorBody = `{"message":"Error in workflow"}`
	badExecutionBody  = `{"code":400,"message":"Execution ID is not valid","stacktrace":"ResponseError: Execution ID is not valid"}`

	// realErrorData is the data of an execution whose Python Code node raised ValueError("boom").
	realErrorData = `[{"version":1,"startData":"1","resultData":"2","executionData":"3","resumeToken":"4"},{},{"error":"5","runData":"6","lastNodeExecuted":"7"},{"contextData":"8","nodeExecutionStack":"9","metadata":"10","waitingExecution":"11","waitingExecutionSource":"12","runtimeData":"13"},"9b7af11b0add1fe5f619309ee241c83bb4dbf76e7461bbc66d3c36b35b178f5f",{"level":"14","shouldReport":false,"description":"15","tags":"16","name":"17","message":"18","stack":"19"},{"Webhook":"20","Code":"21"},"Code",{},["22"],{},{},{},{"version":1,"establishedAt":1795890137922,"source":"23","triggerNode":"24","redaction":"25"},"info","",{},"WrappedExecutionError","boom","WrappedExecutionError: boom\n    at throwExecutionError (throw-execution-error.ts:11:9)",["26"],["27"],{"node":"28","data":"29","source":"30"},"webhook",{"name":"31","type":"32"},{"version":2,"production":false,"manual":false},{"startTime":1795890137933,"executionIndex":0,"source":"33","hints":"34","executionTime":1,"executionStatus":"35","data":"36"},{"startTime":1795890137934,"executionIndex":1,"source":"37","hints":"38","executionTime":5,"executionStatus":"39","error":"40"},{"id":"41","name":"7","type":"42","typeVersion":2,"position":"43","parameters":"44"},{"main":"45"},{"main":"37"},"Webhook","n8n-nodes-base.webhook",[],[],"success",{"main":"46"},["47"],[],"error",{"level":"14","shouldReport":false,"description":"15","tags":"16","name":"17","message":"18","stack":"19"},"6f43e236-5c51-45d4-bd2f-9d0842958c27","n8n-nodes-base.code",[220,0],{"mode":"48","language":"49","pythonCode":"50","notice":"15"},["51"],["52"],{"previousNode":"31","previousNodeOutput":0,"previousNodeRun":0},"runOnceForAllItems","pythonNative","raise ValueError(\"boom\")",["53"],["54"],{"json":"55","pairedItem":"56"},{"json":"55","pairedItem":"57"},{"headers":"58","params":"59","query":"60","body":"61","webhookUrl":"62","executionMode":"63"},{"item":0},{"item":0},{"host":"64","user-agent":"65","content-length":"66","accept":"67","content-type":"67","accept-encoding":"68"},{},{},{"x":21},"http://localhost:25678/webhook/py-err","production","127.0.0.1:25678","Go-http-client/1.1","8","application/json","gzip"]`

	// realEachData is the data of an execution whose Python Code node ran once for each item:
	// return {"json": {"b": _item["json"]["body"]["x"] * 2}}.
	realEachData = `[{"version":1,"startData":"1","resultData":"2","executionData":"3","resumeToken":"4"},{},{"runData":"5","lastNodeExecuted":"6"},{"contextData":"7","nodeExecutionStack":"8","metadata":"9","waitingExecution":"10","waitingExecutionSource":"11","runtimeData":"12"},"3ad58cf124a31e474c1e7a03a7cb47c1ffad4f140e0fe44f3b110443120a88a2",{"Webhook":"13","Code":"14"},"Code",{},[],{},{},{},{"version":1,"establishedAt":1795890137676,"source":"15","triggerNode":"16","redaction":"17"},["18"],["19"],"webhook",{"name":"20","type":"21"},{"version":2,"production":false,"manual":false},{"startTime":1795890137688,"executionIndex":0,"source":"22","hints":"23","executionTime":1,"executionStatus":"24","data":"25"},{"startTime":1795890137689,"executionIndex":1,"source":"26","hints":"27","executionTime":8,"executionStatus":"24","data":"28"},"Webhook","n8n-nodes-base.webhook",[],[],"success",{"main":"29"},["30"],[],{"main":"31"},["32"],{"previousNode":"20","previousNodeOutput":0,"previousNodeRun":0},["33"],["34"],["35"],{"json":"36","pairedItem":"37"},{"json":"38","pairedItem":"39"},{"headers":"40","params":"41","query":"42","body":"43","webhookUrl":"44","executionMode":"45"},{"item":0},{"b":42},{"item":0},{"host":"46","user-agent":"47","content-length":"48","accept":"49","content-type":"49","accept-encoding":"50"},{},{},{"x":21},"http://localhost:25678/webhook/py-each","production","127.0.0.1:25678","Go-http-client/1.1","8","application/json","gzip"]`

	// realContinueData is the data of an execution whose Python Code node raised
	// ValueError("boom") with continue on fail (onError continueRegularOutput).
	realContinueData = `[{"version":1,"startData":"1","resultData":"2","executionData":"3","resumeToken":"4"},{},{"runData":"5","lastNodeExecuted":"6"},{"contextData":"7","nodeExecutionStack":"8","metadata":"9","waitingExecution":"10","waitingExecutionSource":"11","runtimeData":"12"},"6af276563da21f11d2ff4ace7244d80ca5c3c49102ebebcda0cd609f504ae4a0",{"Webhook":"13","Code":"14"},"Code",{},[],{},{},{},{"version":1,"establishedAt":1795890138166,"source":"15","triggerNode":"16","redaction":"17"},["18"],["19"],"webhook",{"name":"20","type":"21"},{"version":2,"production":false,"manual":false},{"startTime":1795890138178,"executionIndex":0,"source":"22","hints":"23","executionTime":0,"executionStatus":"24","data":"25"},{"startTime":1795890138178,"executionIndex":1,"source":"26","hints":"27","executionTime":7,"executionStatus":"24","data":"28"},"Webhook","n8n-nodes-base.webhook",[],[],"success",{"main":"29"},["30"],[],{"main":"31"},["32"],{"previousNode":"20","previousNodeOutput":0,"previousNodeRun":0},["33"],["34"],["35"],{"json":"36","pairedItem":"37"},{"json":"38","pairedItem":"39"},{"headers":"40","params":"41","query":"42","body":"43","webhookUrl":"44","executionMode":"45"},{"item":0},{"error":"46"},{"item":0},{"host":"47","user-agent":"48","content-length":"49","accept":"50","content-type":"50","accept-encoding":"51"},{},{},{"x":21},"http://localhost:25678/webhook/py-err-cof","production","boom","127.0.0.1:25678","Go-http-client/1.1","8","application/json","gzip"]`
)

// fakeExecution is one execution the fake n8n knows.
type fakeExecution struct {
	id, status string
	data       string // flatted
}

// fakeN8N answers like n8n 2.41.1 for the requests the client makes. Configure it before the
// first request; it checks the session (cookie and browser-id) on every /rest request but login
// and owner setup, as n8n does.
type fakeN8N struct {
	t *testing.T

	// configuration
	ownerExists       bool
	loginSetsNoCookie bool
	activateInactive  bool // /activate answers 200 with active false
	webhookMisses     int  // 404s before a webhook answers; -1 for ever
	webhookStatus     int
	webhookBody       string
	finishAfter       int // executions list polls during which the newest execution runs

	mu             sync.Mutex
	browserID      string // sent at login
	token          string
	workflows      map[string]string // id to version id
	activated      []string
	webhookCalls   int
	webhookRequest *http.Request
	webhookPayload string
	listQueries    []string
	executions     []fakeExecution // in n8n's list order
	byID           map[string]fakeExecution
}

func newFakeN8N(t *testing.T) (*fakeN8N, *Client) {
	t.Helper()
	f := &fakeN8N{t: t, workflows: map[string]string{}, byID: map[string]fakeExecution{}, webhookStatus: http.StatusOK, webhookBody: `[{"a":1}]`}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rest/owner/setup", f.setupOwner)
	mux.HandleFunc("POST /rest/login", f.login)
	mux.HandleFunc("POST /rest/workflows", f.session(f.createWorkflow))
	mux.HandleFunc("POST /rest/workflows/{id}/activate", f.session(f.activate))
	mux.HandleFunc("GET /rest/executions", f.session(f.listExecutions))
	mux.HandleFunc("GET /rest/executions/{id}", f.session(f.getExecution))
	mux.HandleFunc("POST /webhook/{path...}", f.webhook)
	srv := httptest.NewServer(mux)
	c := NewClient(srv.URL + "/")
	t.Cleanup(func() {
		c.CloseIdleConnections()
		srv.Close()
	})
	return f, c
}

// addExecution makes an execution known to the fake, newest last.
func (f *fakeN8N) addExecution(e fakeExecution) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.executions = append(f.executions, e)
	f.byID[e.id] = e
}

func writeBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeData(w http.ResponseWriter, data any) {
	b, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		panic(err)
	}
	writeBody(w, http.StatusOK, string(b))
}

// readJSON decodes a request body into a map, failing the test if it is not JSON sent as such.
func (f *fakeN8N) readJSON(r *http.Request) map[string]any {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		f.t.Errorf("%s %s: body is not a JSON object: %v", r.Method, r.URL.Path, err)
	}
	return m
}

func (f *fakeN8N) issueCookie(w http.ResponseWriter, r *http.Request) {
	if f.loginSetsNoCookie {
		return
	}
	f.browserID = r.Header.Get("browser-id")
	f.token = "token-" + strconv.Itoa(len(f.token))
	http.SetCookie(w, &http.Cookie{Name: "n8n-auth", Value: f.token, Path: "/", MaxAge: 604800, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (f *fakeN8N) setupOwner(w http.ResponseWriter, r *http.Request) {
	body := f.readJSON(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if email, _ := body["email"].(string); !strings.Contains(email, "@") {
		writeBody(w, http.StatusBadRequest, invalidEmailBody)
		return
	}
	if f.ownerExists {
		writeBody(w, http.StatusBadRequest, ownerExistsBody)
		return
	}
	for _, k := range []string{"password", "firstName", "lastName"} {
		if s, _ := body[k].(string); s == "" {
			f.t.Errorf("owner setup without %s", k)
		}
	}
	f.ownerExists = true
	f.issueCookie(w, r)
	writeData(w, map[string]any{"id": "26e66399", "email": body["email"], "role": "global:owner", "isOwner": true})
}

func (f *fakeN8N) login(w http.ResponseWriter, r *http.Request) {
	body := f.readJSON(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if body["emailOrLdapLoginId"] != "owner@example.com" || body["password"] != "Passw0rd-e2e" {
		writeBody(w, http.StatusUnauthorized, wrongPasswordBody)
		return
	}
	f.issueCookie(w, r)
	writeData(w, map[string]any{"id": "26e66399", "email": "owner@example.com", "role": "global:owner"})
}

// session answers 401 and clears the cookie, as n8n does, unless the request carries the
// session cookie and the browser-id it was issued for.
func (f *fakeN8N) session(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		token, browserID := f.token, f.browserID
		f.mu.Unlock()
		ck, err := r.Cookie("n8n-auth")
		if err != nil || token == "" || ck.Value != token || r.Header.Get("browser-id") != browserID {
			http.SetCookie(w, &http.Cookie{Name: "n8n-auth", Value: "", Path: "/", Expires: time.Unix(0, 0)})
			writeBody(w, http.StatusUnauthorized, unauthorizedBody)
			return
		}
		next(w, r)
	}
}

func (f *fakeN8N) createWorkflow(w http.ResponseWriter, r *http.Request) {
	body := f.readJSON(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := body["active"]; ok {
		f.t.Errorf("POST /rest/workflows with an active field, which n8n 2.41 ignores")
	}
	nodes, okNodes := body["nodes"].([]any)
	_, okConns := body["connections"].(map[string]any)
	if name, _ := body["name"].(string); name == "" || !okNodes || !okConns {
		writeBody(w, http.StatusBadRequest, `{"code":"custom","message":"Connections must be an object","path":["connections"]}`)
		return
	}
	id := fmt.Sprintf("wf%d", len(f.workflows)+1)
	version := "version-of-" + id
	f.workflows[id] = version
	writeData(w, map[string]any{"id": id, "name": body["name"], "active": false, "nodes": nodes,
		"connections": body["connections"], "versionId": version, "activeVersionId": nil, "versionCounter": 1})
}

func (f *fakeN8N) activate(w http.ResponseWriter, r *http.Request) {
	body := f.readJSON(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	version, ok := body["versionId"].(string)
	switch {
	case !ok:
		writeBody(w, http.StatusBadRequest, noVersionIDBody)
	case f.workflows[id] != version:
		writeBody(w, http.StatusNotFound, noVersionBody)
	case f.activateInactive:
		writeData(w, map[string]any{"id": id, "active": false, "versionId": version, "activeVersionId": nil})
	default:
		f.activated = append(f.activated, id)
		writeData(w, map[string]any{"id": id, "active": true, "versionId": version, "activeVersionId": version})
	}
}

func (f *fakeN8N) webhook(w http.ResponseWriter, r *http.Request) {
	payload, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookCalls++
	f.webhookRequest = r
	f.webhookPayload = string(payload)
	if f.webhookMisses < 0 || f.webhookCalls <= f.webhookMisses {
		writeBody(w, http.StatusNotFound, fmt.Sprintf(notRegisteredBody, r.PathValue("path")))
		return
	}
	writeBody(w, f.webhookStatus, f.webhookBody)
}

func (f *fakeN8N) listExecutions(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listQueries = append(f.listQueries, r.URL.RawQuery)
	running := len(f.listQueries) <= f.finishAfter
	results := []any{}
	for i, e := range f.executions {
		status, stopped := e.status, any("2026-11-28T18:22:17.298Z")
		if running && i == len(f.executions)-1 {
			status, stopped = "running", nil
		}
		results = append(results, map[string]any{
			"id": e.id, "workflowId": "wf1", "workflowVersionId": "version-of-wf1", "jsonSizeBytes": 2440,
			"binaryDataSizeBytes": 0, "mode": "webhook", "retryOf": nil, "status": status,
			"createdAt": "2026-11-28T18:22:17.277Z", "startedAt": "2026-11-28T18:22:17.281Z", "stoppedAt": stopped,
			"usedPrivateCredentials": false, "waitTill": nil, "retrySuccessId": nil, "workflowName": "py-all",
			"annotation": map[string]any{"vote": nil, "tags": []any{}}, "scopes": []any{"execution:read"},
		})
	}
	writeData(w, map[string]any{"results": results, "nextCursor": nil, "count": len(results), "estimated": false, "concurrentExecutionsCount": -1})
}

func (f *fakeN8N) getExecution(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	if _, err := strconv.Atoi(id); err != nil {
		writeBody(w, http.StatusBadRequest, badExecutionBody)
		return
	}
	e, ok := f.byID[id]
	if !ok {
		writeBody(w, http.StatusOK, `{}`)
		return
	}
	writeData(w, map[string]any{
		"id": e.id, "finished": e.status == "success", "mode": "webhook", "retryOf": nil, "retrySuccessId": nil,
		"status": e.status, "createdAt": "2026-11-28T18:22:17.924Z", "startedAt": "2026-11-28T18:22:17.928Z",
		"stoppedAt": "2026-11-28T18:22:17.939Z", "deletedAt": nil, "workflowId": "wf1", "waitTill": nil,
		"storedAt": "db", "jsonSizeBytes": 4023, "binaryDataSizeBytes": 0, "workflowVersionId": "version-of-wf1",
		"data": e.data, "workflowData": map[string]any{"id": "wf1", "name": "py-err", "nodes": []any{}}, "customData": map[string]any{},
	})
}

// loggedIn returns a fake n8n and a client logged in to it.
func loggedIn(t *testing.T) (*fakeN8N, *Client) {
	t.Helper()
	f, c := newFakeN8N(t)
	f.ownerExists = true
	if err := c.Login(t.Context(), "owner@example.com", "Passw0rd-e2e"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return f, c
}

func TestSetupOwner(t *testing.T) {
	tests := []struct {
		name        string
		ownerExists bool
		email       string
		wantErr     error  // matched with errors.Is
		wantStatus  int    // of an *APIError, if not 0
		wantMessage string // in the error
	}{
		{name: "fresh instance", email: "owner@example.com"},
		{name: "owner exists", ownerExists: true, email: "owner@example.com", wantErr: ErrOwnerExists, wantMessage: "Instance owner already setup"},
		{name: "invalid email", email: "nobody", wantStatus: http.StatusBadRequest, wantMessage: "Invalid email"},
		{name: "invalid email, owner exists", ownerExists: true, email: "nobody", wantStatus: http.StatusBadRequest, wantMessage: "Invalid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeN8N(t)
			f.ownerExists = tt.ownerExists
			err := c.SetupOwner(t.Context(), tt.email, "Passw0rd-e2e", "E", "Two")
			if tt.wantErr == nil && tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("SetupOwner: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("SetupOwner succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("SetupOwner error %v, want one that is %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && errors.Is(err, ErrOwnerExists) {
				t.Errorf("SetupOwner error %v is ErrOwnerExists", err)
			}
			if apiErr, ok := errors.AsType[*APIError](err); tt.wantStatus != 0 && (!ok || apiErr.StatusCode != tt.wantStatus) {
				t.Errorf("SetupOwner error %#v, want an *APIError with status %d", err, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("SetupOwner error %q, want it to contain %q", err, tt.wantMessage)
			}
		})
	}
}

// TestSetupOwnerLogsIn checks that the cookie n8n issues at owner setup is kept: the session
// works without Login.
func TestSetupOwnerLogsIn(t *testing.T) {
	_, c := newFakeN8N(t)
	if err := c.SetupOwner(t.Context(), "owner@example.com", "Passw0rd-e2e", "E", "Two"); err != nil {
		t.Fatalf("SetupOwner: %v", err)
	}
	if _, err := c.Executions(t.Context(), "wf1"); err != nil {
		t.Errorf("Executions after SetupOwner: %v", err)
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		password   string
		noCookie   bool
		wantErr    string // "" for success
		wantStatus int
	}{
		{name: "right password", password: "Passw0rd-e2e"},
		{name: "wrong password", password: "Wrong-secret-1", wantErr: "401 Unauthorized: Wrong username or password", wantStatus: http.StatusUnauthorized},
		{name: "no cookie", password: "Passw0rd-e2e", noCookie: true, wantErr: "N8N_SECURE_COOKIE=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeN8N(t)
			f.ownerExists = true
			f.loginSetsNoCookie = tt.noCookie
			err := c.Login(t.Context(), "owner@example.com", tt.password)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Login: %v", err)
				}
				// The fake checks the cookie and the browser-id of the login on every request.
				if _, err := c.Executions(t.Context(), "wf1"); err != nil {
					t.Errorf("Executions after Login: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Login error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Errorf("Login error %q shows the password", err)
			}
			if apiErr, ok := errors.AsType[*APIError](err); tt.wantStatus != 0 && (!ok || apiErr.StatusCode != tt.wantStatus) {
				t.Errorf("Login error %#v, want an *APIError with status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestNotLoggedIn(t *testing.T) {
	_, c := newFakeN8N(t)
	_, err := c.Executions(t.Context(), "wf1")
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Message != "Unauthorized" {
		t.Fatalf("Executions without login: %v, want an *APIError 401 Unauthorized", err)
	}
	if want := "n8n: GET /rest/executions: 401 Unauthorized: Unauthorized"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestCreateWorkflow(t *testing.T) {
	tests := []struct {
		name         string
		active       bool
		wantActivate []string
	}{
		{name: "inactive"},
		{name: "active", active: true, wantActivate: []string{"wf1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := loggedIn(t)
			wf := PythonWebhookWorkflow("py", "py-path", `return [{"json": {"a": 1}}]`, RunOnceForAllItems, false)
			wf.Active = tt.active
			got, err := c.CreateWorkflow(t.Context(), wf)
			if err != nil {
				t.Fatalf("CreateWorkflow: %v", err)
			}
			if want := (Created{ID: "wf1", VersionID: "version-of-wf1"}); got != want {
				t.Errorf("CreateWorkflow = %+v, want %+v", got, want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if !reflect.DeepEqual(f.activated, tt.wantActivate) {
				t.Errorf("activated %v, want %v", f.activated, tt.wantActivate)
			}
		})
	}
}

func TestActivate(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		version    string
		inactive   bool
		wantErr    string
		wantStatus int
	}{
		{name: "published", id: "wf1", version: "version-of-wf1"},
		{name: "wrong version", id: "wf1", version: "nope", wantErr: "n8n: POST /rest/workflows/wf1/activate: 404 Not Found: Version not found", wantStatus: http.StatusNotFound},
		{name: "answered inactive", id: "wf1", version: "version-of-wf1", inactive: true, wantErr: "active=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := loggedIn(t)
			if _, err := c.CreateWorkflow(t.Context(), JSWebhookWorkflow("js", "js-path", "return $input.all()", RunOnceForAllItems)); err != nil {
				t.Fatalf("CreateWorkflow: %v", err)
			}
			f.activateInactive = tt.inactive
			err := c.Activate(t.Context(), tt.id, tt.version)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Activate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Activate error %v, want one containing %q", err, tt.wantErr)
			}
			if apiErr, ok := errors.AsType[*APIError](err); tt.wantStatus != 0 && (!ok || apiErr.StatusCode != tt.wantStatus) {
				t.Errorf("Activate error %#v, want an *APIError with status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestWebhook(t *testing.T) {
	tests := []struct {
		name       string
		misses     int
		status     int
		body       string
		wantStatus int
		wantBody   string
		wantCalls  int // 0: more than one
	}{
		{name: "success", status: 200, body: `[{"a":1}]`, wantStatus: 200, wantBody: `[{"a":1}]`, wantCalls: 1},
		{name: "registered late", misses: 2, status: 200, body: `[{"a":1}]`, wantStatus: 200, wantBody: `[{"a":1}]`, wantCalls: 3},
		{name: "code node error", status: 500, body: workflowErrorBody, wantStatus: 500, wantBody: workflowErrorBody, wantCalls: 1},
		{name: "continue on fail", status: 200, body: `[{"error":"boom"}]`, wantStatus: 200, wantBody: `[{"error":"boom"}]`, wantCalls: 1},
		{name: "never registered", misses: -1, wantStatus: 404, wantBody: `is not registered`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := loggedIn(t)
			c.webhookWait = 350 * time.Millisecond
			f.webhookMisses, f.webhookStatus, f.webhookBody = tt.misses, tt.status, tt.body
			status, body, err := c.Webhook(t.Context(), "/py-path", map[string]any{"x": 21})
			if err != nil {
				t.Fatalf("Webhook: %v", err)
			}
			if status != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("Webhook = %d %s, want %d %s", status, body, tt.wantStatus, tt.wantBody)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if tt.wantCalls != 0 && f.webhookCalls != tt.wantCalls {
				t.Errorf("webhook called %d times, want %d", f.webhookCalls, tt.wantCalls)
			}
			if tt.wantCalls == 0 && f.webhookCalls < 2 {
				t.Errorf("webhook called %d times, want retries", f.webhookCalls)
			}
			r := f.webhookRequest
			if r.URL.Path != "/webhook/py-path" || f.webhookPayload != `{"x":21}` || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("webhook request %s %s %q (%s), want /webhook/py-path {\"x\":21} as JSON", r.Method, r.URL.Path, f.webhookPayload, r.Header.Get("Content-Type"))
			}
			if r.Header.Get("Cookie") != "" || r.Header.Get("browser-id") != "" {
				t.Errorf("webhook request carries the session: Cookie %q, browser-id %q", r.Header.Get("Cookie"), r.Header.Get("browser-id"))
			}
		})
	}
}

func TestWebhookContextEnds(t *testing.T) {
	f, c := loggedIn(t)
	f.webhookMisses = -1
	ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	status, _, err := c.Webhook(ctx, "py-path", nil)
	// The deadline falls between two tries (404 and the error) or during one (no status).
	if !errors.Is(err, context.DeadlineExceeded) || status != http.StatusNotFound && status != 0 {
		t.Errorf("Webhook = %d, %v; want 404 or none, and an error that is context.DeadlineExceeded", status, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhookCalls < 2 {
		t.Errorf("webhook called %d times, want retries until the deadline", f.webhookCalls)
	}
}

// TestConcurrentUse runs requests from several goroutines on one logged-in client, for the race
// detector.
func TestConcurrentUse(t *testing.T) {
	f, c := loggedIn(t)
	f.addExecution(fakeExecution{id: "12", status: "error", data: realErrorData})
	var wg sync.WaitGroup
	errs := make(chan error, 3*8)
	for range 8 {
		wg.Go(func() {
			_, _, err := c.Webhook(t.Context(), "py-path", map[string]any{"x": 21})
			errs <- err
			_, err = c.Executions(t.Context(), "wf1")
			errs <- err
			_, err = c.Execution(t.Context(), "12")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestExecutions(t *testing.T) {
	f, c := loggedIn(t)
	f.finishAfter = 1 // the newest runs on the first poll
	for _, e := range []fakeExecution{{id: "9", status: "success"}, {id: "11", status: "error"}, {id: "10", status: "crashed"}, {id: "12", status: "success"}} {
		f.addExecution(e)
	}
	tests := []struct {
		name string
		want []string // id:status:finished
	}{
		{"first poll", []string{"12:running:false", "11:error:true", "10:crashed:true", "9:success:true"}},
		{"second poll", []string{"12:success:true", "11:error:true", "10:crashed:true", "9:success:true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := c.Executions(t.Context(), "wf1")
			if err != nil {
				t.Fatalf("Executions: %v", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, fmt.Sprintf("%s:%s:%t", e.ID, e.Status, e.Finished))
				if e.WorkflowID != "wf1" || e.Mode != "webhook" || e.StartedAt.IsZero() || e.Finished == e.StoppedAt.IsZero() {
					t.Errorf("execution %+v: want workflow wf1, mode webhook, a start, and a stop when finished", e)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Executions = %v, want %v", got, tt.want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := "filter=%7B%22workflowId%22%3A%22wf1%22%7D&limit=100"; f.listQueries[0] != want {
		t.Errorf("query %q, want %q", f.listQueries[0], want)
	}
}

func TestExecution(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		status     string
		wantItems  []map[string]any // of the Code node's run
		wantErr    string           // message of the Code node's error
		wantTime   time.Duration
		wantLatest string // Execution.Error.Message
	}{
		{name: "python per item", id: "11", status: "success", wantTime: 8 * time.Millisecond,
			wantItems: []map[string]any{{"json": map[string]any{"b": 42.0}, "pairedItem": map[string]any{"item": 0.0}}}},
		{name: "python error", id: "12", status: "error", wantTime: 5 * time.Millisecond, wantErr: "boom", wantLatest: "boom"},
		{name: "python error continued", id: "13", status: "success", wantTime: 7 * time.Millisecond,
			wantItems: []map[string]any{{"json": map[string]any{"error": "boom"}, "pairedItem": map[string]any{"item": 0.0}}}},
	}
	f, c := loggedIn(t)
	f.addExecution(fakeExecution{id: "11", status: "success", data: realEachData})
	f.addExecution(fakeExecution{id: "12", status: "error", data: realErrorData})
	f.addExecution(fakeExecution{id: "13", status: "success", data: realContinueData})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := c.Execution(t.Context(), tt.id)
			if err != nil {
				t.Fatalf("Execution: %v", err)
			}
			if ex.ID != tt.id || ex.Status != tt.status || !ex.Finished || ex.Mode != "webhook" || ex.WorkflowID != "wf1" || ex.LastNodeExecuted != CodeNodeName {
				t.Errorf("Execution = %+v, want id %s status %s, finished, webhook, wf1, last node Code", ex, tt.id, tt.status)
			}
			if len(ex.Nodes) != 2 || len(ex.Nodes[WebhookNodeName]) != 1 || len(ex.Nodes[CodeNodeName]) != 1 {
				t.Fatalf("Nodes = %v, want one run of Webhook and one of Code", ex.Nodes)
			}
			hook := ex.LastRun(WebhookNodeName)
			if body := hook.Items[0]["json"].(map[string]any)["body"]; !reflect.DeepEqual(body, map[string]any{"x": 21.0}) {
				t.Errorf("Webhook item body %v, want {x: 21}", body)
			}
			code := ex.LastRun(CodeNodeName)
			if !reflect.DeepEqual(code.Items, tt.wantItems) {
				t.Errorf("Code items %v, want %v", code.Items, tt.wantItems)
			}
			if code.ExecutionTime != tt.wantTime || code.StartTime.IsZero() || code.Raw == nil {
				t.Errorf("Code run took %v from %v (raw %v), want %v", code.ExecutionTime, code.StartTime, code.Raw != nil, tt.wantTime)
			}
			checkError(t, "Code run", code.Error, tt.wantErr)
			checkError(t, "execution", ex.Error, tt.wantLatest)
			if tt.wantErr != "" && code.Status != "error" || tt.wantErr == "" && code.Status != "success" {
				t.Errorf("Code run status %q", code.Status)
			}
			if ex.LastRun("Nope") != nil {
				t.Errorf("LastRun of a node that did not run is not nil")
			}
		})
	}
}

// checkError checks an error of execution data: nil when want is empty, else a
// WrappedExecutionError with message want and an empty description, as n8n 2.41.1 stores the
// error of a Python Code node.
func checkError(t *testing.T, what string, got *NodeError, want string) {
	t.Helper()
	switch {
	case want == "" && got != nil:
		t.Errorf("%s error %+v, want none", what, got)
	case want == "":
	case got == nil:
		t.Errorf("%s has no error, want %q", what, want)
	case got.Message != want || got.Description != "" || got.Name != "WrappedExecutionError" || got.Raw["level"] != "info":
		t.Errorf("%s error %+v, want message %q, no description, name WrappedExecutionError, level info", what, got, want)
	}
}

func TestExecutionMissing(t *testing.T) {
	tests := []struct {
		name, id, wantErr string
		wantNoExec        bool
	}{
		{name: "unknown id", id: "999999", wantErr: "n8n: no such execution: GET /rest/executions/999999 answered 200 without data", wantNoExec: true},
		{name: "not a number", id: "abc", wantErr: "n8n: GET /rest/executions/abc: 400 Bad Request: Execution ID is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := loggedIn(t)
			ex, err := c.Execution(t.Context(), tt.id)
			if err == nil || err.Error() != tt.wantErr || errors.Is(err, ErrNoExecution) != tt.wantNoExec {
				t.Errorf("Execution(%s) = %v, %v; want the error %q (ErrNoExecution: %t)", tt.id, ex, err, tt.wantErr, tt.wantNoExec)
			}
		})
	}
}

func TestExecutionBadData(t *testing.T) {
	tests := []struct{ name, data, wantErr string }{
		{"not flatted", `{"a":1}`, "flatted: not a JSON array"},
		{"not an object", `["x"]`, "data is a string, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := loggedIn(t)
			f.addExecution(fakeExecution{id: "1", status: "success", data: tt.data})
			_, err := c.Execution(t.Context(), "1")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "n8n: GET /rest/executions/1: execution 1: ") {
				t.Errorf("Execution error %v, want one about the data containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLatestExecution(t *testing.T) {
	f, c := loggedIn(t)
	f.finishAfter = 2
	f.addExecution(fakeExecution{id: "11", status: "success", data: realEachData})
	f.addExecution(fakeExecution{id: "12", status: "error", data: realErrorData})
	ex, err := c.LatestExecution(t.Context(), "wf1")
	if err != nil {
		t.Fatalf("LatestExecution: %v", err)
	}
	if ex.ID != "12" || ex.Status != "error" || ex.Error == nil || ex.Error.Message != "boom" {
		t.Errorf("LatestExecution = %+v, want execution 12 failed with boom", ex)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.listQueries) != 3 {
		t.Errorf("polled %d times, want 3 (two while running)", len(f.listQueries))
	}
}

func TestLatestExecutionTimesOut(t *testing.T) {
	tests := []struct {
		name       string
		executions []fakeExecution
		wantErr    string
	}{
		{"none", nil, "n8n: latest execution of workflow wf1: no execution: context deadline exceeded"},
		{"running", []fakeExecution{{id: "7", status: "success"}}, "n8n: latest execution of workflow wf1: execution 7 still running: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := loggedIn(t)
			f.finishAfter = 1 << 30
			for _, e := range tt.executions {
				f.addExecution(e)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
			defer cancel()
			_, err := c.LatestExecution(ctx, "wf1")
			if !errors.Is(err, context.DeadlineExceeded) || err.Error() != tt.wantErr {
				t.Errorf("LatestExecution error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientBadURL(t *testing.T) {
	tests := []struct{ name, url, wantErr string }{
		{"no scheme", "127.0.0.1:5678", "first path segment in URL cannot contain colon"},
		{"not http", "ftp://127.0.0.1:5678", `base URL "ftp://127.0.0.1:5678" is not an absolute http or https URL`},
		{"empty", "", `base URL "" is not an absolute http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.url)
			defer c.CloseIdleConnections()
			err := c.Login(t.Context(), "owner@example.com", "Passw0rd-e2e")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "n8n: POST /rest/login: ") {
				t.Errorf("Login error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	long := strings.Repeat("x", 299) + "é" + strings.Repeat("y", 100)
	tests := []struct {
		name, body, want string
	}{
		{"n8n message", ownerExistsBody, "n8n: POST /rest/x: 400 Bad Request: Instance owner already setup"},
		{"not JSON", "<html>proxy error</html>", "n8n: POST /rest/x: 400 Bad Request: <html>proxy error</html>"},
		{"long body cut", long, "n8n: POST /rest/x: 400 Bad Request: " + strings.Repeat("x", 299) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newAPIError("POST", "/rest/x", 400, []byte(tt.body)).Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorkflowJSON(t *testing.T) {
	tests := []struct {
		name string
		wf   Workflow
		want string // with every id and webhookId replaced by ID
	}{
		{
			name: "python, all items",
			wf:   PythonWebhookWorkflow("py", "py-path", `return [{"json": {"a": 1}}]`, RunOnceForAllItems, false),
			want: `{"name":"py","nodes":[` +
				`{"id":"ID","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,"position":[0,0],"parameters":{"httpMethod":"POST","options":{},"path":"py-path","responseData":"allEntries","responseMode":"lastNode"},"webhookId":"ID"},` +
				`{"id":"ID","name":"Code","type":"n8n-nodes-base.code","typeVersion":2,"position":[220,0],"parameters":{"language":"pythonNative","mode":"runOnceForAllItems","pythonCode":"return [{\"json\": {\"a\": 1}}]"}}],` +
				`"connections":{"Webhook":{"main":[[{"index":0,"node":"Code","type":"main"}]]}},"settings":{"executionOrder":"v1"}}`,
		},
		{
			name: "python, each item, continue on fail",
			wf:   PythonWebhookWorkflow("py", "p", "return _item", RunOnceForEachItem, true),
			want: `{"name":"py","nodes":[` +
				`{"id":"ID","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,"position":[0,0],"parameters":{"httpMethod":"POST","options":{},"path":"p","responseData":"allEntries","responseMode":"lastNode"},"webhookId":"ID"},` +
				`{"id":"ID","name":"Code","type":"n8n-nodes-base.code","typeVersion":2,"position":[220,0],"parameters":{"language":"pythonNative","mode":"runOnceForEachItem","pythonCode":"return _item"},"onError":"continueRegularOutput"}],` +
				`"connections":{"Webhook":{"main":[[{"index":0,"node":"Code","type":"main"}]]}},"settings":{"executionOrder":"v1"}}`,
		},
		{
			name: "javascript",
			wf:   JSWebhookWorkflow("js", "j", "return $input.all()", RunOnceForAllItems),
			want: `{"name":"js","nodes":[` +
				`{"id":"ID","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,"position":[0,0],"parameters":{"httpMethod":"POST","options":{},"path":"j","responseData":"allEntries","responseMode":"lastNode"},"webhookId":"ID"},` +
				`{"id":"ID","name":"Code","type":"n8n-nodes-base.code","typeVersion":2,"position":[220,0],"parameters":{"jsCode":"return $input.all()","language":"javaScript","mode":"runOnceForAllItems"}}],` +
				`"connections":{"Webhook":{"main":[[{"index":0,"node":"Code","type":"main"}]]}},"settings":{"executionOrder":"v1"}}`,
		},
		{
			name: "empty, active",
			wf:   Workflow{Name: "empty", Active: true},
			want: `{"name":"empty","nodes":[],"connections":{}}`,
		},
	}
	uuid := regexp.MustCompile(`"(id|webhookId)":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.wf)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if got := uuid.ReplaceAllString(string(b), `"$1":"ID"`); got != tt.want {
				t.Errorf("JSON\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestWorkflowIDsAreFresh(t *testing.T) {
	a := PythonWebhookWorkflow("a", "a", "", RunOnceForAllItems, false)
	b := PythonWebhookWorkflow("b", "b", "", RunOnceForAllItems, false)
	seen := map[string]bool{}
	for _, wf := range []Workflow{a, b} {
		for _, n := range wf.Nodes {
			for _, id := range []string{n.ID, n.WebhookID} {
				if id == "" {
					continue
				}
				if seen[id] {
					t.Errorf("id %s used twice", id)
				}
				seen[id] = true
			}
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d distinct ids, want 6 (two nodes and a webhook per workflow)", len(seen))
	}
}

func TestChain(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, `{}`},
		{[]string{"A"}, `{}`},
		{[]string{"A", "B", "C"}, `{"A":{"main":[[{"index":0,"node":"B","type":"main"}]]},"B":{"main":[[{"index":0,"node":"C","type":"main"}]]}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Chain(tt.names...))
		if err != nil || string(b) != tt.want {
			t.Errorf("Chain(%v) = %s, %v; want %s", tt.names, b, err, tt.want)
		}
	}
}

func TestExecutionCount(t *testing.T) {
	f, c := loggedIn(t)
	for _, e := range []fakeExecution{{id: "9", status: "success"}, {id: "10", status: "error"}, {id: "11", status: "success"}} {
		f.addExecution(e)
	}
	n, err := c.ExecutionCount(t.Context(), "wf1")
	if err != nil {
		t.Fatalf("ExecutionCount: %v", err)
	}
	if n != 3 {
		t.Errorf("ExecutionCount = %d, want 3", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := "filter=%7B%22workflowId%22%3A%22wf1%22%7D&limit=1"; f.listQueries[len(f.listQueries)-1] != want {
		t.Errorf("query = %q, want %q", f.listQueries[len(f.listQueries)-1], want)
	}
}
