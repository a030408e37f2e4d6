package protocol_test

import (
	"encoding/json"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

// settings241 is the settings object of a python task as n8n 2.41.1 sent it (protocol doc §9).
const settings241 = `{"code":"return [{\"json\": {\"py\": 1 + 2}}]","nodeMode":"runOnceForAllItems","workflowMode":"webhook","continueOnFail":false,"items":[{"json":{"body":{"n":7}},"pairedItem":{"item":0}}],"nodeId":"e5f8…","nodeName":"Code","workflowId":"VZpm…","workflowName":"demo (python)"}`

var _ = Describe("Decoding broker messages", func() {
	DescribeTable("decodes every broker message as n8n sends it",
		func(frame string, want transport.BrokerMessage) {
			m, err := transport.Decode([]byte(frame))
			Expect(err).NotTo(HaveOccurred())
			Expect(m).To(Equal(want))
			Expect(m.BrokerType()).To(Equal(want.BrokerType()))
		},
		Entry("broker:inforequest", `{"type":"broker:inforequest"}`, transport.InfoRequest{}),
		Entry("broker:runnerregistered", `{"type":"broker:runnerregistered"}`, transport.RunnerRegistered{}),
		Entry("broker:taskofferaccept",
			`{"type":"broker:taskofferaccept","taskId":"GbcoRoAs","offerId":"V1StGXR8Z5jdHi6BmyT2a"}`,
			transport.TaskOfferAccept{TaskID: "GbcoRoAs", OfferID: "V1StGXR8Z5jdHi6BmyT2a"}),
		Entry("broker:tasksettings, the real n8n 2.41.1 python task",
			`{"type":"broker:tasksettings","taskId":"GbcoRoAs","settings":`+settings241+`}`,
			transport.TaskSettings{TaskID: "GbcoRoAs", Settings: json.RawMessage(settings241)}),
		Entry("broker:taskcancel from a user",
			`{"type":"broker:taskcancel","taskId":"GbcoRoAs","reason":"Task cancelled by user"}`,
			transport.TaskCancel{TaskID: "GbcoRoAs", Reason: "Task cancelled by user"}),
		Entry("broker:taskcancel on an external-mode timeout",
			`{"type":"broker:taskcancel","taskId":"GbcoRoAs","reason":"Task execution timed out"}`,
			transport.TaskCancel{TaskID: "GbcoRoAs", Reason: "Task execution timed out"}),
		Entry("broker:taskcancel without a reason",
			`{"type":"broker:taskcancel","taskId":"GbcoRoAs"}`,
			transport.TaskCancel{TaskID: "GbcoRoAs"}),
		Entry("broker:rpcresponse for logNodeOutput (undefined data is left out by JSON.stringify)",
			`{"type":"broker:rpcresponse","taskId":"GbcoRoAs","callId":"kq2Ldd8EwQp5ZJ3Xg7bN1c","status":"success"}`,
			transport.RPCResponse{CallID: "kq2Ldd8EwQp5ZJ3Xg7bN1c", TaskID: "GbcoRoAs", Status: transport.RPCStatusSuccess}),
		Entry("broker:rpcresponse refusing a method",
			`{"type":"broker:rpcresponse","taskId":"GbcoRoAs","callId":"c1","status":"error","data":"Method not allowed"}`,
			transport.RPCResponse{CallID: "c1", TaskID: "GbcoRoAs", Status: transport.RPCStatusError, Data: json.RawMessage(`"Method not allowed"`)}),
		Entry("broker:taskdataresponse",
			`{"type":"broker:taskdataresponse","taskId":"GbcoRoAs","requestId":"r1","data":{"runIndex":0,"inputData":{"main":[[{"json":{"a":1}}]]}}}`,
			transport.TaskDataResponse{TaskID: "GbcoRoAs", RequestID: "r1", Data: json.RawMessage(`{"runIndex":0,"inputData":{"main":[[{"json":{"a":1}}]]}}`)}),
		Entry("broker:nodetypes",
			`{"type":"broker:nodetypes","taskId":"GbcoRoAs","requestId":"r2","nodeTypes":[{"name":"n8n-nodes-base.set","version":3}]}`,
			transport.NodeTypes{TaskID: "GbcoRoAs", RequestID: "r2", NodeTypes: json.RawMessage(`[{"name":"n8n-nodes-base.set","version":3}]`)}),
		Entry("broker:drain (n8n 2.41 on SIGTERM)", `{"type":"broker:drain"}`, transport.Drain{}),
		Entry("a frame with fields n8n may add later, which are ignored",
			`{"type":"broker:taskofferaccept","taskId":"t1","offerId":"o1","priority":3,"meta":{"x":[1,2]}}`,
			transport.TaskOfferAccept{TaskID: "t1", OfferID: "o1"}),
		Entry("a frame with type last and whitespace everywhere",
			" {\n \"offerId\" : \"o1\" ,\t\"taskId\":\"t1\", \"type\" : \"broker:taskofferaccept\" }\r\n",
			transport.TaskOfferAccept{TaskID: "t1", OfferID: "o1"}),
		Entry("ids with JSON escapes",
			`{"type":"broker:taskofferaccept","taskId":"t\u00e9\"1","offerId":"o\\1"}`,
			transport.TaskOfferAccept{TaskID: "té\"1", OfferID: `o\1`}),
		Entry("a null optional reason",
			`{"type":"broker:taskcancel","taskId":"t1","reason":null}`,
			transport.TaskCancel{TaskID: "t1"}),
	)

	Describe("raw payloads", func() {
		It("keeps settings byte for byte: whitespace, key order, escapes and big numbers", func() {
			raw := "{ \"z\": 1,\n  \"code\": \"print(\\\"<b>&</b>\\\")\\n\\u00e9\",\t\"big\": 12345678901234567890123, \"f\": 1.10, \"a\": [ ] }"
			m, err := transport.Decode([]byte(`{"type":"broker:tasksettings","taskId":"t1","settings":` + raw + `}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(m).To(BeAssignableToTypeOf(transport.TaskSettings{}))
			Expect(string(m.(transport.TaskSettings).Settings)).To(Equal(raw))
		})

		It("does not alias the frame it decoded", func() {
			frame := []byte(`{"type":"broker:tasksettings","taskId":"t1","settings":{"code":"x"}}`)
			m, err := transport.Decode(frame)
			Expect(err).NotTo(HaveOccurred())
			for i := range frame {
				frame[i] = 'X'
			}
			Expect(m).To(Equal(transport.TaskSettings{TaskID: "t1", Settings: json.RawMessage(`{"code":"x"}`)}))
		})

		It("keeps an explicit null data apart from an absent one", func() {
			m, err := transport.Decode([]byte(`{"type":"broker:rpcresponse","taskId":"t","callId":"c","status":"success","data":null}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(m.(transport.RPCResponse).Data).To(Equal(json.RawMessage("null")))
		})
	})

	DescribeTable("a required field that is missing, null, empty or not a string is malformed, naming the field",
		func(frame, typ, field, problem string) {
			de := decodeError(frame)
			Expect(errors.Is(de, transport.ErrMalformed)).To(BeTrue())
			Expect(errors.Is(de, transport.ErrUnknownType)).To(BeFalse())
			Expect(errors.Unwrap(de)).To(BeIdenticalTo(transport.ErrMalformed))
			Expect(de.Type).To(Equal(typ))
			Expect(de.Field).To(Equal(field))
			Expect(de.Problem).To(Equal(problem))
			Expect(de.Error()).To(Equal(`malformed broker message: ` + typ + ` field "` + field + `" ` + problem))
		},
		Entry(nil, `{"type":"broker:taskofferaccept","offerId":"o1"}`, "broker:taskofferaccept", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:taskofferaccept","taskId":"t1"}`, "broker:taskofferaccept", "offerId", "is missing"),
		Entry(nil, `{"type":"broker:tasksettings","settings":{}}`, "broker:tasksettings", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:tasksettings","taskId":"t1"}`, "broker:tasksettings", "settings", "is missing"),
		Entry(nil, `{"type":"broker:taskcancel","reason":"Unknown reason"}`, "broker:taskcancel", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:rpcresponse","taskId":"t1","status":"success"}`, "broker:rpcresponse", "callId", "is missing"),
		Entry(nil, `{"type":"broker:rpcresponse","callId":"c1","status":"success"}`, "broker:rpcresponse", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:rpcresponse","callId":"c1","taskId":"t1","data":1}`, "broker:rpcresponse", "status", "is missing"),
		Entry(nil, `{"type":"broker:taskdataresponse","requestId":"r1","data":{}}`, "broker:taskdataresponse", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:taskdataresponse","taskId":"t1","data":{}}`, "broker:taskdataresponse", "requestId", "is missing"),
		Entry(nil, `{"type":"broker:nodetypes","requestId":"r1","nodeTypes":[]}`, "broker:nodetypes", "taskId", "is missing"),
		Entry(nil, `{"type":"broker:nodetypes","taskId":"t1","nodeTypes":[]}`, "broker:nodetypes", "requestId", "is missing"),

		Entry(nil, `{"type":"broker:taskofferaccept","taskId":"","offerId":"o1"}`, "broker:taskofferaccept", "taskId", "is empty"),
		Entry(nil, `{"type":"broker:taskofferaccept","taskId":"t1","offerId":""}`, "broker:taskofferaccept", "offerId", "is empty"),
		Entry(nil, `{"type":"broker:rpcresponse","callId":"c1","taskId":"t1","status":""}`, "broker:rpcresponse", "status", "is empty"),
		Entry(nil, `{"type":"broker:taskcancel","taskId":null}`, "broker:taskcancel", "taskId", "is null"),

		Entry(nil, `{"type":"broker:taskofferaccept","taskId":12345678,"offerId":"o1"}`, "broker:taskofferaccept", "taskId", "is not a string"),
		Entry(nil, `{"type":"broker:taskofferaccept","taskId":"t1","offerId":{"id":"o1"}}`, "broker:taskofferaccept", "offerId", "is not a string"),
		Entry(nil, `{"type":"broker:tasksettings","taskId":["t1"],"settings":{}}`, "broker:tasksettings", "taskId", "is not a string"),
		Entry(nil, `{"type":"broker:rpcresponse","callId":"c1","taskId":"t1","status":true}`, "broker:rpcresponse", "status", "is not a string"),
		Entry("an optional reason of the wrong type", `{"type":"broker:taskcancel","taskId":"t1","reason":42}`, "broker:taskcancel", "reason", "is not a string"),

		Entry("settings null", `{"type":"broker:tasksettings","taskId":"t1","settings":null}`, "broker:tasksettings", "settings", "is not a JSON object"),
		Entry("settings an array", `{"type":"broker:tasksettings","taskId":"t1","settings":[{"code":"x"}]}`, "broker:tasksettings", "settings", "is not a JSON object"),
		Entry("settings a string", `{"type":"broker:tasksettings","taskId":"t1","settings":"{}"}`, "broker:tasksettings", "settings", "is not a JSON object"),
	)

	DescribeTable("frames without a known type match ErrUnknownType",
		func(frame, typ, field, text string) {
			de := decodeError(frame)
			Expect(errors.Is(de, transport.ErrUnknownType)).To(BeTrue())
			Expect(errors.Is(de, transport.ErrMalformed)).To(BeFalse())
			Expect(errors.Unwrap(de)).To(BeIdenticalTo(transport.ErrUnknownType))
			Expect(de.Type).To(Equal(typ))
			Expect(de.Field).To(Equal(field))
			Expect(de.Error()).To(Equal(text))
		},
		Entry("an unknown type", `{"type":"broker:somethingnew","taskId":"t1"}`,
			"broker:somethingnew", "", `unknown broker message type: "broker:somethingnew" is not one runwire knows`),
		Entry("a runner message sent back", `{"type":"runner:info","name":"x","types":[]}`,
			"runner:info", "", `unknown broker message type: "runner:info" is not one runwire knows`),
		Entry("a requester message", `{"type":"requester:taskrequest","requestId":"r","taskType":"python"}`,
			"requester:taskrequest", "", `unknown broker message type: "requester:taskrequest" is not one runwire knows`),
		Entry("a differently cased type", `{"type":"Broker:Drain"}`,
			"", "type", `unknown broker message type: field "type" holds a type runwire does not know`),
		Entry("no type", `{"taskId":"t1","offerId":"o1"}`,
			"", "type", `unknown broker message type: field "type" is missing`),
		Entry("a null type", `{"type":null}`,
			"", "type", `unknown broker message type: field "type" is missing`),
		Entry("an empty type", `{"type":""}`,
			"", "type", `unknown broker message type: field "type" is empty`),
		Entry("a numeric type", `{"type":7}`,
			"", "type", `unknown broker message type: field "type" is not a string`),
		Entry("an object type", `{"type":{"name":"broker:drain"}}`,
			"", "type", `unknown broker message type: field "type" is not a string`),
	)

	DescribeTable("frames that are not one JSON object match ErrMalformed",
		func(frame, text string) {
			de := decodeError(frame)
			Expect(errors.Is(de, transport.ErrMalformed)).To(BeTrue())
			Expect(errors.Is(de, transport.ErrUnknownType)).To(BeFalse())
			Expect(de.Type).To(BeEmpty())
			Expect(de.Field).To(BeEmpty())
			Expect(de.Error()).To(Equal(text))
		},
		Entry("an empty frame", ``, `malformed broker message: frame is not valid JSON`),
		Entry("only whitespace", " \n\t", `malformed broker message: frame is not valid JSON`),
		Entry("a truncated object", `{"type":"broker:drain"`, `malformed broker message: frame is not valid JSON`),
		Entry("an object with trailing data", `{"type":"broker:drain"}{"type":"broker:drain"}`, `malformed broker message: frame is not valid JSON`),
		Entry("a trailing comma", `{"type":"broker:drain",}`, `malformed broker message: frame is not valid JSON`),
		Entry("single quotes", `{'type':'broker:drain'}`, `malformed broker message: frame is not valid JSON`),
		Entry("a bare NaN, as Python's json.dumps writes it", `{"type":"broker:tasksettings","taskId":"t","settings":{"x":NaN}}`, `malformed broker message: frame is not valid JSON`),
		Entry("binary garbage", "\x00\x9f\xff\xfe\x01{\x80", `malformed broker message: frame is not valid JSON`),
		Entry("a UTF-8 BOM before the object", "\xef\xbb\xbf{\"type\":\"broker:drain\"}", `malformed broker message: frame is not valid JSON`),
		Entry("an array", `[{"type":"broker:drain"}]`, `malformed broker message: frame is not a JSON object`),
		Entry("a string", `"broker:drain"`, `malformed broker message: frame is not a JSON object`),
		Entry("a number", `42`, `malformed broker message: frame is not a JSON object`),
		Entry("null", `null`, `malformed broker message: frame is not a JSON object`),
		Entry("true", `true`, `malformed broker message: frame is not a JSON object`),
	)

	DescribeTable("error texts never repeat the frame's content",
		func(frame, planted string) {
			_, err := transport.Decode([]byte(frame))
			Expect(err).To(HaveOccurred())
			Expect(errors.Is(err, transport.ErrMalformed) || errors.Is(err, transport.ErrUnknownType)).To(BeTrue())
			expectNoContent(err, planted)
		},
		Entry("a secret in settings of a frame missing its taskId",
			`{"type":"broker:tasksettings","settings":{"code":"token = '`+secret+`'"}}`, secret),
		Entry("a secret as a wrongly typed taskId",
			`{"type":"broker:taskofferaccept","taskId":{"password":"`+secret+`"},"offerId":"o1"}`, secret),
		Entry("a secret-like number as a taskId",
			`{"type":"broker:taskofferaccept","taskId":73929221041886,"offerId":"o1"}`, "73929221041886"),
		Entry("a secret as the settings string",
			`{"type":"broker:tasksettings","taskId":"t1","settings":"`+secret+`"}`, secret),
		Entry("a secret as the type",
			`{"type":"`+secret+`","taskId":"t1"}`, secret),
		Entry("a secret as a type-shaped value with digits",
			`{"type":"broker:`+secret+`"}`, secret),
		Entry("a secret right where the JSON breaks",
			`{"type":"broker:tasksettings","taskId":"t1","settings":{"code":"`+secret, secret),
		Entry("a secret as an unquoted token",
			`{"type":"broker:tasksettings","taskId":"t1","settings":{"code":`+secret+`}}`, secret),
		Entry("a secret in a non-object frame",
			`["`+secret+`"]`, secret),
	)
})
