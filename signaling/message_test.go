package signaling

import (
	"strings"
	"testing"
)

const minimalSDP = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n`

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		code string // "" = valid
	}{
		{"join", `{"type":"join","id":"1","data":{"version":1,"token":"x","case_id":"c","session_id":"s"}}`, ""},
		{"resume", `{"type":"join","data":{"version":1,"resume":"r"}}`, ""},
		{"join without token", `{"type":"join","data":{"version":1}}`, CodeBadMessage},
		{"offer", `{"type":"offer","data":{"sdp":"` + minimalSDP + `","tracks":[{"track_id":"cam","source":"camera"}]}}`, ""},
		{"offer with slash track", `{"type":"offer","data":{"sdp":"` + minimalSDP + `","tracks":[{"track_id":"a/b"}]}}`, CodeBadMessage},
		{"unparsable sdp", `{"type":"offer","data":{"sdp":"v=0"}}`, CodeBadMessage},
		{"sdp garbage", `{"type":"answer","data":{"sdp":"hello\r\nworld"}}`, CodeBadMessage},
		{"sdp above 64 KiB", `{"type":"answer","data":{"sdp":"` + minimalSDP + strings.Repeat("a=x\r\n", 64<<10/5) + `"}}`, CodeBadMessage},
		{"unparsable candidate", `{"type":"candidate","data":{"transport":"publisher","candidate":{"candidate":"candidate:garbage"}}}`, CodeBadMessage},
		{"end of candidates", `{"type":"candidate","data":{"transport":"publisher","candidate":{"candidate":""}}}`, ""},
		{"publisher_restart", `{"type":"publisher_restart"}`, ""},
		{"join voice", `{"type":"join","data":{"version":1,"token":"x","mode":"voice"}}`, ""},
		{"join bad mode", `{"type":"join","data":{"version":1,"token":"x","mode":"telepathy"}}`, CodeBadMessage},
		{"empty sdp", `{"type":"answer","data":{"sdp":""}}`, CodeBadMessage},
		{"candidate", `{"type":"candidate","data":{"transport":"publisher","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}}`, ""},
		{"candidate bad transport", `{"type":"candidate","data":{"transport":"both","candidate":{}}}`, CodeBadMessage},
		{"chat", `{"type":"chat","data":{"text":"你好"}}`, ""},
		{"blank chat", `{"type":"chat","data":{"text":"   "}}`, CodeBadMessage},
		{"long chat", `{"type":"chat","data":{"text":"` + strings.Repeat("字", 4001) + `"}}`, CodeBadMessage},
		{"admit", `{"type":"admit","data":{"participant_id":"p","identity_check":{"method":"id_card_on_camera","result":"passed"}}}`, ""},
		{"admit without check", `{"type":"admit","data":{"participant_id":"p"}}`, CodeIdentityCheck},
		{"admit odd result", `{"type":"admit","data":{"participant_id":"p","identity_check":{"method":"m","result":"maybe"}}}`, CodeIdentityCheck},
		{"mute_participant bad kind", `{"type":"mute_participant","data":{"participant_id":"p","kind":"smell","muted":true}}`, CodeBadMessage},
		{"caucus_open", `{"type":"caucus_open","data":{"members":["a","b"]}}`, ""},
		{"caucus_open empty", `{"type":"caucus_open","data":{"members":[]}}`, CodeBadMessage},
		{"caucus_move joint", `{"type":"caucus_move","data":{"caucus_id":""}}`, ""},
		{"render", `{"type":"render","data":{"track_id":"p/cam","width":320,"height":180}}`, ""},
		{"render negative", `{"type":"render","data":{"track_id":"p/cam","width":-1,"height":180}}`, CodeBadMessage},
		{"end_session", `{"type":"end_session"}`, ""},
		{"ping without data", `{"type":"ping"}`, ""},
		{"unknown type", `{"type":"teleport","data":{}}`, CodeUnknownType},
		{"no type", `{"data":{}}`, CodeBadMessage},
		{"wrong field type", `{"type":"chat","data":{"text":42}}`, CodeBadMessage},
		{"data missing", `{"type":"chat"}`, CodeBadMessage},
		{"not json", `hello`, CodeBadMessage},
		{"array", `[1,2]`, CodeBadMessage},
		{"trailing", `{"type":"ping"} {"type":"ping"}`, CodeBadMessage},
		{"long id", `{"type":"ping","id":"` + strings.Repeat("x", 200) + `"}`, CodeBadMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, e := DecodeRequest([]byte(tt.in))
			got := ""
			if e != nil {
				got = e.Code
			}
			if got != tt.code {
				t.Errorf("DecodeRequest(%.60s) code %q (%v), want %q", tt.in, got, e, tt.code)
			}
			if e == nil && req.Type == "" {
				t.Errorf("valid message decoded without a type")
			}
		})
	}
}

// FuzzDecodeRequest: the decoder never panics, and whatever it accepts has data of
// the type its message type promises.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []string{
		`{"type":"join","id":"1","data":{"version":1,"token":"x","case_id":"c","session_id":"s","decode":["VP8"]}}`,
		`{"type":"offer","id":"2","data":{"sdp":"v=0\r\n","tracks":[{"track_id":"v","layers":[{"rid":"q","width":320,"height":180}]}]}}`,
		`{"type":"candidate","data":{"transport":"subscriber","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}}`,
		`{"type":"admit","data":{"participant_id":"p","identity_check":{"method":"m","result":"passed","note":"n"}}}`,
		`{"type":"caucus_open","data":{"members":["a"]}}`,
		`{"type":"chat","data":{"text":"\u0000\ud800"}}`,
		`{"type":"end_session","data":null}`,
		`{"type":"ping","data":{"ts":-1}}`,
		`{"type":"mute","data":{"track_id":"","muted":"yes"}}`,
		`{"type":"join","data":{"version":1e309}}`,
		`{"type":`, `null`, `{}`, "\xff\xfe", `{"type":"render","data":{"track_id":"x","width":1e10}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, e := DecodeRequest(b)
		if e != nil {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("error without code or message: %+v", e)
			}
			return
		}
		switch req.Type {
		case TypeJoin:
			if _, ok := req.Data.(*JoinData); !ok {
				t.Fatalf("join decoded to %T", req.Data)
			}
		case TypeOffer, TypeAnswer:
			if d, ok := req.Data.(*SDPData); !ok || d.SDP == "" {
				t.Fatalf("%s decoded to %#v", req.Type, req.Data)
			}
		case TypeChat:
			if d, ok := req.Data.(*ChatData); !ok || strings.TrimSpace(d.Text) == "" {
				t.Fatalf("chat decoded to %#v", req.Data)
			}
		case TypeAdmit:
			if d, ok := req.Data.(*AdmitData); !ok || (d.IdentityCheck.Result != CheckPassed && d.IdentityCheck.Result != CheckFailed) {
				t.Fatalf("admit decoded to %#v", req.Data)
			}
		case TypeEndSession, TypeLeave:
			if req.Data != nil {
				t.Fatalf("%s with data %#v", req.Type, req.Data)
			}
		}
	})
}
