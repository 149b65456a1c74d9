package signing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// EvaluationReport is the input of an evaluation report (评估报告, issue 12 §6; notice §14): the figures of one
// period over the cases a court, an IP office, an organisation or the platform oversees, signed by the platform.
// Meta.CaseNumber carries the period (printed in every page's header after Meta.RefLabel).
type EvaluationReport struct {
	Meta
	Scope          string // who the figures cover, in words: 北京知识产权法院, 北京市的调解组织, 全平台 …
	Period         string // in words
	Total          ReportFigures
	ByOrganisation []ReportFigures
	ByMediator     []ReportFigures
}

// ReportFigures is one row of the report.
type ReportFigures struct {
	Name                   string
	Ended, Settled, Failed int
	Ratings                int
	Average                float64 // mean satisfaction 1–5
	Heard, Fair            float64 // shares 0–1
	Distribution           [5]int  // ratings of 1 … 5
}

var reportText = map[string]map[string]string{
	"zh": {
		"title": "调解评估报告", "ref": "报告期间：", "intro": "本报告依据在线调解平台记录，统计报告期间内登记的案件的调解结果和当事人对调解的评价（满意度 1–5 分，以及是否感到意见被倾听、是否感到受到公平对待）。案件按其调解组织计入；法院委派给个人调解员的案件计入该调解员所属组织。本报告由平台以电子签名签署，任何改动均可被发现。",
		"scope": "统计范围", "period": "报告期间", "generated": "生成时间",
		"totals": "一、总体情况", "item": "项目", "value": "数值",
		"ended": "调解终结案件", "settled": "调解成功", "failed": "调解不成", "success": "调解成功率", "rated": "评价份数",
		"mean": "平均满意度（1–5）", "heard": "感到意见被倾听", "fair": "感到受到公平对待",
		"dist": "二、满意度分布", "level": "满意度", "count": "评价份数", "share": "占比",
		"byorg": "三、按调解组织", "bymed": "四、按主持调解员", "org": "调解组织", "med": "调解员",
		"c_ended": "终结", "c_settled": "成功", "c_failed": "不成", "c_rated": "评价数", "c_mean": "平均分", "c_heard": "被倾听", "c_fair": "公平", "c_dist": "分布（1–5分）",
		"none": "报告期间内没有记录。", "unassigned": "（未归属组织）", "sign": "在线调解平台（签章）", "points": "%d分",
	},
	"en": {
		"title": "Mediation evaluation report", "ref": "Period: ", "intro": "From the records of the online mediation platform: the outcome of the cases registered in the period and how the parties rated the mediation (satisfaction 1–5, whether they felt heard and fairly treated). A case counts for its mediation organisation; a court's referral to an individual mediator counts for that mediator's organisation. The platform signs this report electronically: any change to it can be detected.",
		"scope": "Scope", "period": "Period", "generated": "Generated",
		"totals": "1. Totals", "item": "Item", "value": "Figure",
		"ended": "Cases ended", "settled": "Settled", "failed": "Not settled", "success": "Success rate", "rated": "Ratings",
		"mean": "Mean satisfaction (1–5)", "heard": "Felt heard", "fair": "Felt fairly treated",
		"dist": "2. Satisfaction", "level": "Satisfaction", "count": "Ratings", "share": "Share",
		"byorg": "3. By organisation", "bymed": "4. By presiding mediator", "org": "Organisation", "med": "Mediator",
		"c_ended": "Ended", "c_settled": "Settled", "c_failed": "Failed", "c_rated": "Ratings", "c_mean": "Mean", "c_heard": "Heard", "c_fair": "Fair", "c_dist": "Ratings 1–5",
		"none": "Nothing was recorded in the period.", "unassigned": "(no organisation)", "sign": "The online mediation platform (signature)", "points": "%d",
	},
}

// EvaluationReport renders the report with one signature field, sig-platform.
func (g *Generator) EvaluationReport(r *EvaluationReport) (*Document, error) {
	if err := r.Meta.check("evaluation report"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.Scope) == "" {
		return nil, errors.New("signing: evaluation report: the scope is required")
	}
	lang := r.Lang
	if lang == "" {
		lang = "zh"
	}
	tx := reportText[lang]
	lab := labelsFor(lang)
	if r.RefLabel == "" {
		r.Meta.RefLabel = tx["ref"]
	}
	pct := func(v float64, n int) string {
		if n == 0 {
			return "—"
		}
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	}
	mean := func(v float64, n int) string {
		if n == 0 {
			return "—"
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	dist := func(d [5]int) string {
		s := make([]string, 5)
		for i, n := range d {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, "/")
	}
	success := func(f ReportFigures) string {
		if f.Ended == 0 {
			return "—"
		}
		return pct(float64(f.Settled)/float64(f.Ended), f.Ended)
	}
	title := tx["title"]
	return g.render(r.Meta, title, func(l *layout) error {
		l.titleBlock(title, r.Scope)
		l.para(tx["intro"], sizeBody, 0, 0)
		l.space(6)
		t := r.Total
		l.table([]string{tx["item"], tx["value"]}, []float64{0.4, 0.6}, [][]string{
			{tx["scope"], r.Scope},
			{tx["period"], r.Period},
			{tx["generated"], lab.dateTime(r.Created)},
		}, sizeSmall+0.5)
		l.heading(tx["totals"])
		l.table([]string{tx["item"], tx["value"]}, []float64{0.4, 0.6}, [][]string{
			{tx["ended"], strconv.Itoa(t.Ended)},
			{tx["settled"], strconv.Itoa(t.Settled)},
			{tx["failed"], strconv.Itoa(t.Failed)},
			{tx["success"], success(t)},
			{tx["rated"], strconv.Itoa(t.Ratings)},
			{tx["mean"], mean(t.Average, t.Ratings)},
			{tx["heard"], pct(t.Heard, t.Ratings)},
			{tx["fair"], pct(t.Fair, t.Ratings)},
		}, sizeSmall+0.5)
		l.heading(tx["dist"])
		var rows [][]string
		for i := 4; i >= 0; i-- {
			share := "—"
			if t.Ratings > 0 {
				share = pct(float64(t.Distribution[i])/float64(t.Ratings), t.Ratings)
			}
			rows = append(rows, []string{fmt.Sprintf(tx["points"], i+1), strconv.Itoa(t.Distribution[i]), share})
		}
		l.table([]string{tx["level"], tx["count"], tx["share"]}, []float64{0.4, 0.3, 0.3}, rows, sizeSmall+0.5)
		widths := []float64{0.29, 0.065, 0.065, 0.065, 0.075, 0.10, 0.085, 0.085, 0.17}
		if lang == "en" { // whole English words in the headers
			widths = []float64{0.22, 0.08, 0.09, 0.09, 0.09, 0.08, 0.09, 0.08, 0.18}
		}
		group := func(heading, first string, groups []ReportFigures) {
			l.ensure(sizeH*1.7 + 4*sizeSmall*1.45 + 24) // the heading, the table's header and a first row together
			l.heading(heading)
			if len(groups) == 0 {
				l.para(tx["none"], sizeBody, 0, 0)
				return
			}
			var rows [][]string
			for _, f := range groups {
				name := f.Name
				if name == "" {
					name = tx["unassigned"]
				}
				rows = append(rows, []string{name, strconv.Itoa(f.Ended), strconv.Itoa(f.Settled), strconv.Itoa(f.Failed), strconv.Itoa(f.Ratings),
					mean(f.Average, f.Ratings), pct(f.Heard, f.Ratings), pct(f.Fair, f.Ratings), dist(f.Distribution)})
			}
			l.table([]string{first, tx["c_ended"], tx["c_settled"], tx["c_failed"], tx["c_rated"], tx["c_mean"], tx["c_heard"], tx["c_fair"], tx["c_dist"]},
				widths, rows, sizeSmall)
		}
		group(tx["byorg"], tx["org"], r.ByOrganisation)
		group(tx["bymed"], tx["med"], r.ByMediator)
		l.space(8)
		l.signatureBlock("sig-platform", RolePlatform, lab.platform, -1, []string{tx["sign"]})
		return nil
	})
}
