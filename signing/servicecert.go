package signing

import (
	"errors"
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
		l.table([]string{"项目", "内容"}, []float64{0.3, 0.7}, [][]string{
			{"案号", c.CaseNumber},
			{"受送达人", c.ServedOn},
			{"送达文书", c.DocumentTitle},
			{"文书 SHA-256", hash},
			{"送达方式", c.Channel},
			{"电子送达地址", c.Address},
			{"送达状态", c.Status},
		}, sizeSmall+0.5)
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
