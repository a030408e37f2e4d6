package protocol_test

import (
	"encoding/json"
	"errors"
	"unicode/utf8"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

var _ = Describe("Encoding runner messages", func() {
	DescribeTable("encodes every runner message to the JSON n8n expects, type first",
		func(m transport.RunnerMessage, want string) {
			got := encode(m)
			Expect(got).To(MatchJSON(want))
			Expect(got).To(HavePrefix(`{"type":"` + m.RunnerType() + `"`))
			Expect(json.Valid([]byte(got))).To(BeTrue())
		},
		Entry("runner:info",
			transport.RunnerInfo{Name: "Python Task Runner", Types: []string{"python"}},
			`{"type":"runner:info","name":"Python Task Runner","types":["python"]}`),
		Entry("runner:info with nil types",
			transport.RunnerInfo{Name: "runwire"},
			`{"type":"runner:info","name":"runwire","types":[]}`),
		Entry("runner:taskoffer",
			transport.TaskOffer{OfferID: "V1StGXR8Z5jdHi6BmyT2ab", TaskType: "python", ValidFor: 5234},
			`{"type":"runner:taskoffer","offerId":"V1StGXR8Z5jdHi6BmyT2ab","taskType":"python","validFor":5234}`),
		Entry("runner:taskoffer that never expires, as the launcher sends it",
			transport.TaskOffer{OfferID: "o1", TaskType: "python", ValidFor: -1},
			`{"type":"runner:taskoffer","offerId":"o1","taskType":"python","validFor":-1}`),
		Entry("runner:taskaccepted",
			transport.TaskAccepted{TaskID: "GbcoRoAs"},
			`{"type":"runner:taskaccepted","taskId":"GbcoRoAs"}`),
		Entry("runner:taskrejected",
			transport.TaskRejected{TaskID: "GbcoRoAs", Reason: "Offer expired - not accepted within validity window"},
			`{"type":"runner:taskrejected","taskId":"GbcoRoAs","reason":"Offer expired - not accepted within validity window"}`),
		Entry("runner:taskdeferred",
			transport.TaskDeferred{TaskID: "GbcoRoAs"},
			`{"type":"runner:taskdeferred","taskId":"GbcoRoAs"}`),
		Entry("runner:taskdone as the Python runner sends it",
			transport.TaskDone{TaskID: "GbcoRoAs", Data: transport.TaskResultData{Result: json.RawMessage(`[{"json":{"py":3}}]`)}},
			`{"type":"runner:taskdone","taskId":"GbcoRoAs","data":{"result":[{"json":{"py":3}}]}}`),
		Entry("runner:taskdone with a nil result",
			transport.TaskDone{TaskID: "t1"},
			`{"type":"runner:taskdone","taskId":"t1","data":{"result":null}}`),
		Entry("runner:taskdone with customData and staticData",
			transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{
				Result:     json.RawMessage(`[]`),
				CustomData: map[string]string{"run": "7", "env": "prod"},
				StaticData: json.RawMessage(`{"lastId":42}`),
			}},
			`{"type":"runner:taskdone","taskId":"t1","data":{"result":[],"customData":{"env":"prod","run":"7"},"staticData":{"lastId":42}}}`),
		Entry("runner:taskerror with an empty description (a timeout)",
			transport.TaskError{TaskID: "t1", Error: transport.TaskErrorDetail{Message: "Task execution timed out after 60 seconds", Description: ptr("")}},
			`{"type":"runner:taskerror","taskId":"t1","error":{"message":"Task execution timed out after 60 seconds","description":""}}`),
		Entry("runner:taskerror without a description (a syntax error)",
			transport.TaskError{TaskID: "t1", Error: transport.TaskErrorDetail{Message: "invalid syntax (<unknown>, line 1)"}},
			`{"type":"runner:taskerror","taskId":"t1","error":{"message":"invalid syntax (<unknown>, line 1)"}}`),
		Entry("runner:taskerror with a description and a stack",
			transport.TaskError{TaskID: "t1", Error: transport.TaskErrorDetail{
				Message: "Security violations detected", Description: ptr("Line 1: Import of 'os' is disallowed"), Stack: "Traceback (most recent call last):\n  ...",
			}},
			`{"type":"runner:taskerror","taskId":"t1","error":{"message":"Security violations detected","description":"Line 1: Import of 'os' is disallowed","stack":"Traceback (most recent call last):\n  ..."}}`),
		Entry("runner:rpc forwarding a print",
			transport.RPC{CallID: "c1", TaskID: "t1", Name: "logNodeOutput", Params: json.RawMessage(`["hello","{'a': 1}"]`)},
			`{"type":"runner:rpc","callId":"c1","taskId":"t1","name":"logNodeOutput","params":["hello","{'a': 1}"]}`),
		Entry("runner:rpc with nil params",
			transport.RPC{CallID: "c1", TaskID: "t1", Name: "logNodeOutput"},
			`{"type":"runner:rpc","callId":"c1","taskId":"t1","name":"logNodeOutput","params":[]}`),
		Entry("runner:taskdatarequest",
			transport.TaskDataRequest{TaskID: "t1", RequestID: "r1", RequestParams: json.RawMessage(`{"dataOfNodes":"all","prevNode":true,"input":{"include":true},"env":false}`)},
			`{"type":"runner:taskdatarequest","taskId":"t1","requestId":"r1","requestParams":{"dataOfNodes":"all","prevNode":true,"input":{"include":true},"env":false}}`),
		Entry("runner:nodetypesrequest",
			transport.NodeTypesRequest{TaskID: "t1", RequestID: "r2", RequestParams: json.RawMessage(`[{"name":"n8n-nodes-base.set","version":3}]`)},
			`{"type":"runner:nodetypesrequest","taskId":"t1","requestId":"r2","requestParams":[{"name":"n8n-nodes-base.set","version":3}]}`),
		Entry("runner:nodetypesrequest with nil params",
			transport.NodeTypesRequest{TaskID: "t1", RequestID: "r2"},
			`{"type":"runner:nodetypesrequest","taskId":"t1","requestId":"r2","requestParams":[]}`),
	)

	DescribeTable("writes empty payloads exactly",
		func(m transport.RunnerMessage, want string) {
			Expect(encode(m)).To(Equal(want))
		},
		Entry("a nil result as null", transport.TaskDone{TaskID: "t1"},
			`{"type":"runner:taskdone","taskId":"t1","data":{"result":null}}`),
		Entry("an empty, non-nil result as null", transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{Result: json.RawMessage{}, CustomData: map[string]string{}}},
			`{"type":"runner:taskdone","taskId":"t1","data":{"result":null}}`),
		Entry("nil RPC params as []", transport.RPC{CallID: "c", TaskID: "t", Name: "logNodeOutput"},
			`{"type":"runner:rpc","callId":"c","taskId":"t","name":"logNodeOutput","params":[]}`),
		Entry("nil types as []", transport.RunnerInfo{Name: "n"},
			`{"type":"runner:info","name":"n","types":[]}`),
		Entry("empty types as []", transport.RunnerInfo{Name: "n", Types: []string{}},
			`{"type":"runner:info","name":"n","types":[]}`),
	)

	Describe("raw payloads", func() {
		It("copies the result byte for byte: whitespace, key order, escapes, big numbers, HTML characters", func() {
			raw := "[ {\"json\": {\"z\": 1, \"a\": \"<b>&amp;</b>\", \"e\": \"\\u00e9\", \"big\": 12345678901234567890123, \"f\": 1.10}}\n]"
			got := encode(transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{Result: json.RawMessage(raw)}})
			Expect(got).To(Equal(`{"type":"runner:taskdone","taskId":"t1","data":{"result":` + raw + `}}`))
		})

		It("round-trips settings into a result unchanged", func() {
			m, err := transport.Decode([]byte(`{"type":"broker:tasksettings","taskId":"GbcoRoAs","settings":` + settings241 + `}`))
			Expect(err).NotTo(HaveOccurred())
			settings := m.(transport.TaskSettings).Settings
			got := encode(transport.TaskDone{TaskID: "GbcoRoAs", Data: transport.TaskResultData{Result: settings}})
			Expect(got).To(Equal(`{"type":"runner:taskdone","taskId":"GbcoRoAs","data":{"result":` + settings241 + `}}`))
		})

		It("copies RPC params byte for byte", func() {
			raw := `[ "a\tb" , 1e3 ]`
			got := encode(transport.RPC{CallID: "c", TaskID: "t", Name: "logNodeOutput", Params: json.RawMessage(raw)})
			Expect(got).To(HaveSuffix(`,"params":` + raw + `}`))
		})
	})

	Describe("strings", func() {
		It("escapes what JSON requires and survives a decode", func() {
			message := "line1\nline2\t\"quoted\" back\\slash \x01\x1f <script>&</script> é 😀 \u2028"
			got := encode(transport.TaskError{TaskID: "t1", Error: transport.TaskErrorDetail{Message: message}})
			var back struct {
				Error struct{ Message string } `json:"error"`
			}
			Expect(json.Unmarshal([]byte(got), &back)).To(Succeed())
			Expect(back.Error.Message).To(Equal(message))
			Expect(got).To(ContainSubstring(`<script>&</script>`), "HTML characters are not escaped")
			Expect(got).To(ContainSubstring(`\u2028`))
			Expect(got).To(ContainSubstring(`\u0001`))
		})

		It("replaces invalid UTF-8 with U+FFFD", func() {
			got := encode(transport.TaskRejected{TaskID: "t1", Reason: "bad \xff\xfe byte"})
			Expect(utf8.ValidString(got)).To(BeTrue(), "n8n decodes frames as UTF-8")
			Expect(got).To(ContainSubstring(`"reason":"bad \ufffd\ufffd byte"`))
			var back struct{ Reason string }
			Expect(json.Unmarshal([]byte(got), &back)).To(Succeed())
			Expect(back.Reason).To(Equal("bad \uFFFD\uFFFD byte"))
		})
	})

	DescribeTable("refuses a payload n8n could not read, naming type and field but not the content",
		func(m transport.RunnerMessage, text string) {
			b, err := transport.Encode(m)
			Expect(err).To(HaveOccurred())
			Expect(b).To(BeNil())
			Expect(errors.Is(err, transport.ErrInvalidPayload)).To(BeTrue())
			Expect(err.Error()).To(Equal(text))
			expectNoContent(err, secret)
		},
		Entry("an invalid result",
			transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{Result: json.RawMessage(`{"token":"` + secret)}},
			`invalid runner message payload: runner:taskdone field "data.result" is not valid JSON`),
		Entry("a result with a bare NaN",
			transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{Result: json.RawMessage(`[{"json":{"x":NaN,"k":"` + secret + `"}}]`)}},
			`invalid runner message payload: runner:taskdone field "data.result" is not valid JSON`),
		Entry("staticData that is not an object",
			transport.TaskDone{TaskID: "t1", Data: transport.TaskResultData{StaticData: json.RawMessage(`["` + secret + `"]`)}},
			`invalid runner message payload: runner:taskdone field "data.staticData" is not a JSON object`),
		Entry("RPC params that are not an array",
			transport.RPC{CallID: "c", TaskID: "t", Name: "logNodeOutput", Params: json.RawMessage(`"` + secret + `"`)},
			`invalid runner message payload: runner:rpc field "params" is not a JSON array`),
		Entry("invalid RPC params",
			transport.RPC{CallID: "c", TaskID: "t", Name: "logNodeOutput", Params: json.RawMessage(`["` + secret)},
			`invalid runner message payload: runner:rpc field "params" is not valid JSON`),
		Entry("missing task data request params",
			transport.TaskDataRequest{TaskID: "t", RequestID: "r"},
			`invalid runner message payload: runner:taskdatarequest field "requestParams" is missing`),
		Entry("task data request params that are not an object",
			transport.TaskDataRequest{TaskID: "t", RequestID: "r", RequestParams: json.RawMessage(`["` + secret + `"]`)},
			`invalid runner message payload: runner:taskdatarequest field "requestParams" is not a JSON object`),
		Entry("node types request params that are not an array",
			transport.NodeTypesRequest{TaskID: "t", RequestID: "r", RequestParams: json.RawMessage(`{"name":"` + secret + `"}`)},
			`invalid runner message payload: runner:nodetypesrequest field "requestParams" is not a JSON array`),
	)

	DescribeTable("refuses what is not a runner message value of the package",
		func(m transport.RunnerMessage) {
			b, err := transport.Encode(m)
			Expect(err).To(HaveOccurred())
			Expect(b).To(BeNil())
			Expect(errors.Is(err, transport.ErrInvalidPayload)).To(BeFalse())
		},
		Entry("nil", nil),
		Entry("a pointer to a message", &transport.TaskAccepted{TaskID: "t1"}),
		Entry("a nil pointer to a message", (*transport.TaskAccepted)(nil)),
		Entry("a foreign type", foreignMessage{}),
	)
})

// foreignMessage implements RunnerMessage outside package transport.
type foreignMessage struct{}

func (foreignMessage) RunnerType() string { return "runner:foreign" }
