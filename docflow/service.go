package docflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// Service runs documents for the HTTP layer and the job sweeper.
type Service struct {
	Store   *cases.Store
	Keys    *Keys
	Font    *signing.Font
	BaseURL string         // printed in QR codes: <base>/verify?doc=<id>
	Zone    *time.Location // dates on documents and signatures
	Now     func() time.Time
	Log     *slog.Logger
	// Lease is how long a claimed job is left to the node that claimed it before another may retry it; Retry is
	// how long a failed job waits.
	Lease, Retry time.Duration
	// Hook, when set, is called at the named points of a flow (tests kill the process there); nil in production.
	Hook func(point string)
	// Issued, when set, is called once for each court document this node stores (courtdocs.go), with the decision
	// it records: the HTTP layer serves it on the parties. Whoever stores a document serves it, so a document the
	// sweeper makes after a node died is served too, and one is never served twice.
	Issued func(ctx context.Context, c *cases.Case, d *cases.CourtDocument, decision *cases.Event)
}

// New returns a service on store with keys.
func New(store *cases.Store, keys *Keys, font *signing.Font, baseURL string, zone *time.Location, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if zone == nil {
		zone = time.Local
	}
	return &Service{Store: store, Keys: keys, Font: font, BaseURL: baseURL, Zone: zone, Now: time.Now, Log: logger.With("component", "docflow"),
		Lease: 5 * time.Minute, Retry: 30 * time.Second}
}

func (s *Service) hook(point string) {
	if s.Hook != nil {
		s.Hook(point)
	}
}

func (s *Service) meta(c *cases.Case, id, lang string) signing.Meta {
	return signing.Meta{DocumentID: id, CaseNumber: c.Number, Court: c.CourtName, VerifyBaseURL: s.BaseURL, Lang: lang, Created: s.Now().In(s.Zone)}
}

// View is a document as a caller sees it: its fields and the one they may sign now.
type View struct {
	Document *cases.Document     `json:"document"`
	Fields   []cases.FieldStatus `json:"fields"`
	Next     string              `json:"next,omitempty"` // the field the caller may sign now
	Waiting  string              `json:"waiting,omitempty"`
	// Blocked says why the caller's field cannot be signed yet (cases.SignBlock…) and BlockedBy who must act
	// first; Next is then empty.
	Blocked   string    `json:"blocked,omitempty"`
	BlockedBy cases.Who `json:"blocked_by,omitempty"`
}

// Describe returns the view of d for p in case c (nil when the case's state does not matter to the caller,
// right after a signature).
func Describe(p cases.Principal, c *cases.Case, d *cases.Document) View {
	f, next, waiting := cases.SigningView(p, d)
	v := View{Document: d, Fields: f, Next: next, Waiting: waiting}
	if next != "" || waiting != "" {
		if why, who := cases.SignBlock(c, d); why != "" {
			v.Next, v.Blocked, v.BlockedBy = "", why, who
		}
	}
	return v
}

// RoleLabel is how a role is printed on a signature.
func RoleLabel(role, lang string) string {
	zh := map[string]string{"applicant": "申请人", "respondent": "被申请人", "agent": "委托代理人", "mediator": "调解员", "organisation": "调解组织",
		"judge": "法官", "clerk": "书记员", "court": "人民法院", "platform": "平台", "party": "当事人", "observer": "旁听人员"}
	if lang == "en" {
		if role == "" {
			return ""
		}
		return strings.ToUpper(role[:1]) + role[1:]
	}
	if l, ok := zh[role]; ok {
		return l
	}
	return role
}

// IdentityMethodLabel is how an identity check's method is printed.
func IdentityMethodLabel(m, lang string) string {
	if lang == "en" {
		return strings.ReplaceAll(m, "_", " ")
	}
	labels := map[string]string{"id_card_on_camera": "身份证件视频核验", "face_match": "人脸识别比对", "sms_code": "短信验证码",
		"known_to_mediator": "调解员当面核实", "court_verified": "法院已核验", "other": "其他方式", "invitation_code": "邀请链接与短信验证码", "staff_login": "工作人员账户登录"}
	if l, ok := labels[m]; ok {
		return l
	}
	return m
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// document loads a document and its case.
func (s *Service) document(ctx context.Context, id string) (*cases.Document, *cases.Case, error) {
	d, err := s.Store.Document(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Store.Case(ctx, d.CaseID)
	if err != nil {
		return nil, nil, err
	}
	return d, c, nil
}
