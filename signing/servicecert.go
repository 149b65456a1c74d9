package signing

import (
	"errors"
	"strings"
	"time"
)

// ServiceCertificate is the input of a service certificate (送达证明, OLR Art. 29–32): a separate PDF, signed by
// the platform, that says which document was served on whom, its SHA-256, the address and channel, and when it
// was sent, accepted by the channel, reached the address's system and opened.
type ServiceCertificate struct {
	Meta                     // DocumentID is the certificate's own ID
	ServedOn       string    // the party served
	DocumentTitle  string    // the served notice's or document's title
	DocumentSHA256 string    // hex SHA-256 of what was served
	Channel        string    // in words: 短信 / 电子邮件 / 平台站内
	Address        string    // the confirmed address (masked as the platform chooses)
	Status         string    // in words
	ChannelRef     string    // the channel's own id of the message (an HTTP SMS provider's), when it gave one
	Sent           time.Time // zero when it did not happen
	Accepted       time.Time
	Reached        time.Time
	Opened         time.Time
	Effective      time.Time
	Text           string // the served text
}

// ServiceCertificate renders a service certificate with one signature field, sig-platform.
func (g *Generator) ServiceCertificate(c *ServiceCertificate) (*Document, error) {
	if err := c.Meta.check("service certificate"); err != nil {
		return nil, err
	}
	if c.DocumentSHA256 == "" || c.ServedOn == "" {
		return nil, errors.New("signing: service certificate: the served party and the document hash are required")
	}
	lab := labelsFor("zh")
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return lab.dateTime(t)
	}
	title := "送达证明"
	return g.render(c.Meta, title, func(l *layout) error {
		l.titleBlock(title, c.CaseNumber)
		l.para("本平台依据《人民法院在线诉讼规则》第二十九条至第三十二条，对下列文书进行了电子送达。送达自文书到达受送达人确认的电子送达地址所在系统时生效。本证明由平台以电子签名签署，任何改动均可被发现。", sizeBody, 0, 0)
		l.space(6)
		hash := c.DocumentSHA256
		if len(hash) == 64 {
			hash = hash[:32] + "\n" + hash[32:]
		}
		rows := [][]string{
			{"案号", c.CaseNumber},
			{"受送达人", c.ServedOn},
			{"送达文书", c.DocumentTitle},
			{"文书 SHA-256", hash},
			{"送达方式", c.Channel},
			{"电子送达地址", c.Address},
		}
		if c.ChannelRef != "" {
			rows = append(rows, []string{"送达渠道消息编号", c.ChannelRef})
		}
		rows = append(rows, []string{"送达状态", c.Status})
		l.table([]string{"项目", "内容"}, []float64{0.3, 0.7}, rows, sizeSmall+0.5)
		l.heading("送达过程")
		l.table([]string{"环节", "时间"}, []float64{0.5, 0.5}, [][]string{
			{"发出", stamp(c.Sent)},
			{"送达渠道接收", stamp(c.Accepted)},
			{"到达受送达人电子送达地址所在系统（送达生效）", stamp(c.Reached)},
			{"受送达人打开", stamp(c.Opened)},
			{"送达生效时间", stamp(c.Effective)},
		}, sizeSmall+0.5)
		if c.Text != "" {
			l.heading("送达内容")
			l.para(c.Text, sizeSmall, 0, 0)
		}
		l.space(8)
		l.signatureBlock("sig-platform", RolePlatform, lab.platform, -1, []string{lab.platform})
		return nil
	})
}

// FailureReport is the input of the mediator's report to the court when mediation fails (调解不成告知书 / notes
// for the court, OMR Art. 21): the case, the ground, the facts, why it failed and the suggestions, signed by the
// mediation organisation (or the platform when no organisation mediates).
type FailureReport struct {
	Meta
	Title        string
	Parties      []string // "申请人：…", "被申请人：…"
	Mediators    string
	Organisation string
	Ground       string // in words
	EndedAt      time.Time
	Facts        string
	Reasons      string
	Suggestions  string
	SignerRole   string // RoleOrganisation or RolePlatform
	SignerName   string
}

// FailureReport renders the report with one signature field, sig-report.
func (g *Generator) FailureReport(r *FailureReport) (*Document, error) {
	if err := r.Meta.check("failure report"); err != nil {
		return nil, err
	}
	if r.Facts == "" || r.Reasons == "" || r.Suggestions == "" {
		return nil, errors.New("signing: failure report: facts, reasons and suggestions are required")
	}
	lab := labelsFor("zh")
	title := "调解不成告知书"
	return g.render(r.Meta, title, func(l *layout) error {
		l.titleBlock(title, r.CaseNumber)
		l.table([]string{"项目", "内容"}, []float64{0.3, 0.7}, [][]string{
			{"案号", r.CaseNumber},
			{"案由", r.Title},
			{"当事人", strings.Join(r.Parties, "\n")},
			{"调解组织", r.Organisation},
			{"调解员", r.Mediators},
			{"终结时间", lab.dateTime(r.EndedAt)},
			{"终结事由", r.Ground},
		}, sizeSmall+0.5)
		l.heading("一、案件事实")
		l.para(r.Facts, sizeBody, 0, 0)
		l.heading("二、未能达成调解协议的原因")
		l.para(r.Reasons, sizeBody, 0, 0)
		l.heading("三、对法院的建议")
		l.para(r.Suggestions, sizeBody, 0, 0)
		l.space(8)
		l.signatureBlock("sig-report", r.SignerRole, r.SignerName, -1, []string{r.SignerName})
		return nil
	})
}
