package signing

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// MediationStatement is the input of the court's mediation statement (民事调解书, CPL Art. 100–101; OMR Art. 20)
// in a case the court entrusted to mediation after filing (委托调解): the parties as plaintiff and defendant, the
// entrusted mediators, the terms the parties agreed and the court's confirmation of them. Signed by the court.
type MediationStatement struct {
	Meta                          // DocumentID is the statement's own ID; CaseNumber the mediation case's number
	Court           string        // the court issuing it
	CourtCaseNumber string        // the court's case number (案号), e.g. （2026）京73民初123号
	Cause           string        // 案由, e.g. 侵害发明专利权纠纷
	Procedure       string        // 普通程序 or 简易程序 ("" leaves it out)
	Parties         []Party       // RoleApplicant is the plaintiff (原告), RoleRespondent the defendant (被告)
	Organisation    string        // who mediated on the court's entrustment
	Mediators       string        // the mediators' names, joined
	Terms           []string      // the agreed terms, numbered 一、二、… in order
	Schedule        []Installment // the payment schedule, each instalment one more term after Terms
	AgreementID     string        // the agreement document the terms come from
	AgreementSHA    string        // hex SHA-256 of that agreement
	AgreementDate   time.Time     // when it took effect (zero: not known)
	Judge           string
	Issued          time.Time
}

// courtRole is how a party is named in a court's document of a filed case.
func courtRole(role string) string {
	if role == RoleRespondent {
		return "被告"
	}
	return "原告"
}

// chineseDate writes t as a court writes the date of its document: 二〇二六年十一月二十日.
func chineseDate(t time.Time) string {
	digits := []rune("〇一二三四五六七八九")
	var b strings.Builder
	for _, r := range t.Format("2006") {
		b.WriteRune(digits[r-'0'])
	}
	small := func(n int) string { // 1–31
		switch {
		case n < 10:
			return string(digits[n])
		case n == 10:
			return "十"
		case n < 20:
			return "十" + string(digits[n-10])
		case n%10 == 0:
			return string(digits[n/10]) + "十"
		}
		return string(digits[n/10]) + "十" + string(digits[n%10])
	}
	return b.String() + "年" + small(int(t.Month())) + "月" + small(t.Day()) + "日"
}

// MediationStatement renders the statement with one signature field, sig-court (the court's seal).
func (g *Generator) MediationStatement(s *MediationStatement) (*Document, error) {
	if err := s.Meta.check("mediation statement"); err != nil {
		return nil, err
	}
	if s.Court == "" || s.CourtCaseNumber == "" || len(s.Parties) == 0 {
		return nil, errors.New("signing: mediation statement: the court, its case number and the parties are required")
	}
	if len(s.Terms) == 0 && len(s.Schedule) == 0 {
		return nil, errors.New("signing: mediation statement: the agreed terms are required")
	}
	lab := labelsFor("zh")
	title := "民事调解书"
	return g.render(s.Meta, title, func(l *layout) error {
		centre := func(text string, size float64) {
			l.text((pageW-l.width(text, size))/2, l.y, size, text)
			l.y += size * 1.7
		}
		right := func(text string, size float64) {
			l.ensure(size * 1.7)
			l.text(pageW-marginR-l.width(text, size), l.y, size, text)
			l.y += size * 1.7
		}
		centre(s.Court, sizeH+3)
		centre("民 事 调 解 书", sizeTitle+2)
		right(s.CourtCaseNumber, sizeBody)
		l.space(4)
		var names [2][]string
		for _, p := range s.Parties {
			line := courtRole(p.Role) + "：" + p.Name
			if p.Kind != Company {
				if sex := map[string]string{SexMale: "男", SexFemale: "女"}[p.Sex]; sex != "" {
					line += "，" + sex
				}
				if !p.Birth.IsZero() {
					line += "，" + lab.date(p.Birth) + "出生"
				}
			}
			if p.IDNumber != "" {
				id := "，公民身份号码" + p.IDNumber
				if p.Kind == Company {
					id = "，统一社会信用代码" + p.IDNumber
				}
				line += id
			}
			if p.Address != "" {
				addr := "，住"
				if p.Kind == Company {
					addr = "，住所地"
				}
				line += addr + p.Address
			}
			l.para(line+"。", sizeBody, 0, l.width(courtRole(p.Role)+"：", sizeBody))
			if p.Kind == Company && p.Representative != "" {
				l.para("法定代表人："+p.Representative+"。", sizeBody, 0, 0)
			}
			if p.Agent != nil {
				a := "委托诉讼代理人：" + p.Agent.Name
				if p.Agent.Firm != "" {
					a += "，" + p.Agent.Firm + "律师"
				}
				l.para(a+"。", sizeBody, 0, 0)
			}
			if p.Role == RoleRespondent {
				names[1] = append(names[1], p.Name)
			} else {
				names[0] = append(names[0], p.Name)
			}
		}
		l.space(4)
		opening := "原告" + strings.Join(names[0], "、")
		if len(names[1]) > 0 {
			opening += "与被告" + strings.Join(names[1], "、")
		}
		opening += s.Cause + "一案，本院立案后"
		if s.Procedure != "" {
			opening += "，依法适用" + s.Procedure + "进行审理"
		}
		by := s.Organisation
		switch {
		case by != "" && s.Mediators != "":
			by += "（调解员：" + s.Mediators + "）"
		case by == "":
			by = "调解员" + s.Mediators
		}
		// Paragraphs open indented by two characters; their further lines run full width.
		em2 := l.width("中中", sizeBody)
		body := func(text string) { l.para(text, sizeBody, em2, -em2) }
		body(opening + "。本案在审理过程中，经本院委托" + by + "调解，当事人自愿达成如下协议：")
		terms := append([]string(nil), s.Terms...)
		for _, in := range s.Schedule {
			t := in.Payer + "于" + lab.date(in.Due) + "前向" + in.Payee + "支付" + lab.money(in.Amount)
			if in.Method != "" {
				t += "（" + in.Method + "）"
			}
			terms = append(terms, t+"。")
		}
		for i, t := range terms {
			n := strconv.Itoa(i+1) + "、"
			if i < len(chineseOrdinals) {
				n = chineseOrdinals[i] + "、"
			}
			body(n + strings.TrimSpace(t))
		}
		body("上述协议，不违反法律规定，本院予以确认。")
		body("本调解书经双方当事人签收后，即具有法律效力。")
		l.space(6)
		agreed := "调解协议"
		if !s.AgreementDate.IsZero() {
			agreed += "于" + lab.date(s.AgreementDate) + "生效，"
		}
		l.para(agreed+"文书编号："+s.AgreementID+"，SHA-256："+s.AgreementSHA+"。", sizeSmall, 0, 0)
		l.space(10)
		l.ensure(sizeBody*1.7*2 + sigBoxH + 20)
		right("审判员　"+s.Judge, sizeBody+1)
		right(chineseDate(s.Issued), sizeBody+1)
		l.space(4)
		l.signatureBlock("sig-court", RoleCourt, s.Court, -1, []string{"（院印）" + s.Court})
		return nil
	})
}
