package signing

import (
	"errors"
	"strings"
	"time"
)

// Ruling is the input of the court's ruling on an application for judicial confirmation (民事裁定书, CPL Art.
// 205–206): it confirms the mediation agreement (valid, and enforceable if a party does not perform), or rejects
// the application with the reason (the parties may mediate again, or sue). Signed by the court.
type Ruling struct {
	Meta                   // DocumentID is the ruling's own ID; CaseNumber the mediation case's number
	Court         string   // the court deciding
	Applicants    []string // "申请人：…", one line per party (a confirmation is applied for jointly)
	Organisation  string   // who mediated: the organisation, or the mediators
	Mediators     string
	AgreementDate time.Time // when the agreement took effect (zero: not known)
	AgreementSHA  string    // hex SHA-256 of the agreement confirmed or not
	Confirmed     bool
	Reason        string // the rejection's reason; the confirmation's note, if any
	Judge         string
	Decided       time.Time
}

// Ruling renders the ruling with one signature field, sig-court.
func (g *Generator) Ruling(r *Ruling) (*Document, error) {
	if err := r.Meta.check("ruling"); err != nil {
		return nil, err
	}
	if r.Court == "" || len(r.Applicants) == 0 {
		return nil, errors.New("signing: ruling: the court and the applicants are required")
	}
	if !r.Confirmed && strings.TrimSpace(r.Reason) == "" {
		return nil, errors.New("signing: ruling: a rejection states its reason")
	}
	lab := labelsFor("zh")
	title := "民事裁定书"
	by := r.Organisation
	if r.Mediators != "" {
		if by != "" {
			by += "（调解员：" + r.Mediators + "）"
		} else {
			by = "调解员" + r.Mediators
		}
	}
	when := "—"
	if !r.AgreementDate.IsZero() {
		when = lab.date(r.AgreementDate)
	}
	return g.render(r.Meta, title, func(l *layout) error {
		l.titleBlock(r.Court, title)
		l.para("（司法确认）案号："+r.CaseNumber, sizeSmall, 0, 0)
		l.space(4)
		for _, a := range r.Applicants {
			l.para(a, sizeBody, 0, 0)
		}
		l.space(4)
		l.para("申请人于"+when+"经"+by+"主持调解达成调解协议，并共同向本院申请司法确认。本院受理后依法进行了审查。调解协议书的 SHA-256："+r.AgreementSHA+"。", sizeBody, 24, 0)
		if r.Confirmed {
			l.para("本院经审查认为，申请人达成的调解协议系双方真实意思表示，内容不违反法律、行政法规的强制性规定，不损害国家利益、社会公共利益和他人合法权益，符合司法确认的条件。依照《中华人民共和国民事诉讼法》第二百零五条、第二百零六条的规定，裁定如下：", sizeBody, 24, 0)
			l.para("申请人达成的调解协议有效。当事人应当按照调解协议的约定自觉履行义务。一方当事人拒绝履行或者未全部履行的，对方当事人可以向人民法院申请强制执行。", sizeBody, 24, 0)
			if strings.TrimSpace(r.Reason) != "" {
				l.para("审查意见："+r.Reason, sizeSmall, 24, 0)
			}
		} else {
			l.para("本院经审查认为："+r.Reason, sizeBody, 24, 0)
			l.para("依照《中华人民共和国民事诉讼法》第二百零六条的规定，裁定如下：", sizeBody, 24, 0)
			l.para("驳回申请人的司法确认申请。当事人可以通过调解方式变更原调解协议或者达成新的调解协议，也可以向人民法院提起诉讼。", sizeBody, 24, 0)
		}
		l.para("本裁定书自即日起发生法律效力。", sizeBody, 24, 0)
		l.space(8)
		l.table([]string{"项目", "内容"}, []float64{0.3, 0.7}, [][]string{
			{"审判员", r.Judge},
			{"裁定日期", lab.date(r.Decided)},
		}, sizeSmall+0.5)
		l.space(8)
		l.signatureBlock("sig-court", RoleCourt, r.Court, -1, []string{r.Court})
		return nil
	})
}
