package signing

import (
	"errors"
	"fmt"
	"strings"
)

// ConfirmationSheet is the input of the sheet on which the parties confirm online an agreement they signed on
// paper (notice §10: offline agreements confirmed online). It names the uploaded scan by its SHA-256, so that the
// signatures on the sheet bind exactly those bytes, and has a field per party, per mediator and for the
// organisation's seal, named like an agreement's (sig-applicant-1, sig-mediator-1, sig-organisation).
type ConfirmationSheet struct {
	Meta
	Organisation string
	Mediators    []string
	Parties      []Party
	ScanSHA256   string // hex SHA-256 of the scanned agreement
	ScanPages    int
	ScanDocument string   // the scan's document ID at Parley
	SignedOn     string   // when the paper agreement was signed, as the mediator states it (optional)
	Terms        []string // the agreed terms as the mediator transcribed them from the scan
}

// ConfirmationSheet renders a confirmation sheet.
func (g *Generator) ConfirmationSheet(s *ConfirmationSheet) (*Document, error) {
	if err := s.Meta.check("confirmation sheet"); err != nil {
		return nil, err
	}
	if len(s.ScanSHA256) != 64 || len(s.Parties) < 2 || len(s.Mediators) == 0 {
		return nil, errors.New("signing: confirmation sheet: the scan's SHA-256, two parties and a mediator are required")
	}
	for i, p := range s.Parties {
		if err := p.checkSealImage(); err != nil {
			return nil, fmt.Errorf("signing: confirmation sheet: party %d: %w", i+1, err)
		}
	}
	lab := labelsFor(s.Lang)
	en := s.Lang == "en"
	t := func(zh, enText string) string {
		if en {
			return enText
		}
		return zh
	}
	title := t("线下调解协议确认书", "Confirmation of an Agreement Signed Offline")
	gc := *g
	gc.court = true
	return gc.render(s.Meta, title, func(l *layout) error {
		l.titleBlock(title, s.CaseNumber)
		l.para(t("各方当事人在线下签署了调解协议，调解员已将其扫描件上传至本平台。各方当事人在本确认书上签名，即确认下列扫描件为其签署的调解协议，内容真实、完整。本确认书由各方当事人签署后，该调解协议生效。",
			"The parties signed a mediation agreement on paper and the mediator uploaded its scan to this platform. By signing this sheet each party confirms that the scan identified below is the agreement it signed, true and complete. The agreement takes effect once every party has signed this sheet."), sizeBody, 0, 0)
		l.space(6)
		hash := s.ScanSHA256[:32] + "\n" + s.ScanSHA256[32:]
		rows := [][]string{
			{t("扫描件 SHA-256", "Scan SHA-256"), hash},
			{t("扫描件页数", "Scan pages"), fmt.Sprint(s.ScanPages)},
			{strings.TrimSuffix(strings.TrimSuffix(lab.docID, "："), ": "), s.ScanDocument},
		}
		if s.SignedOn != "" {
			rows = append(rows, []string{t("线下签署日期", "Signed on paper on"), s.SignedOn})
		}
		if s.Court != "" {
			rows = append(rows, []string{t("委派法院", "Court"), s.Court})
		}
		if s.Organisation != "" {
			rows = append(rows, []string{t("调解组织", "Mediation organisation"), s.Organisation})
		}
		l.table([]string{t("项目", "Item"), t("内容", "Value")}, []float64{0.3, 0.7}, rows, sizeSmall+0.5)
		l.heading(t("一、当事人", "1. Parties"))
		for _, p := range s.Parties {
			l.field(lab.roleName(p.Role)+lab.colon, p.Name)
		}
		if len(s.Terms) > 0 {
			l.heading(t("二、协议主要条款（据扫描件摘录）", "2. Main terms (transcribed from the scan)"))
			l.numbered(s.Terms, func(i int) string { return fmt.Sprintf("%d. ", i) })
		}
		l.heading(t("三、签署", "3. Signatures"))
		counts := map[string]int{}
		for i, p := range s.Parties {
			l.partySignature(defaultFieldName(p.Field, p.Role, counts), p, i)
		}
		for _, m := range s.Mediators {
			name := defaultFieldName("", RoleMediator, counts)
			l.signatureBlock(name, RoleMediator, m, -1, []string{lab.roleName(RoleMediator) + lab.colon + m + lab.sign})
		}
		if s.Organisation != "" {
			name := defaultFieldName("", RoleOrganisation, counts)
			l.signatureBlock(name, RoleOrganisation, s.Organisation, -1, l.font.wrap(lab.organisation+s.Organisation+lab.seal, contentW-sigBoxW-20, sizeBody))
		}
		return nil
	})
}

// PageCount opens an uploaded PDF (a scan) and returns its number of pages; it fails for what is not a readable,
// unencrypted PDF.
func PageCount(pdf []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("signing: page count: malformed file (%v)", r)
		}
	}()
	if err := checkHeader(pdf); err != nil {
		return 0, err
	}
	d, err := openPDF(pdf)
	if err != nil {
		return 0, err
	}
	pages, err := d.pages()
	if err != nil {
		return 0, err
	}
	return len(pages), nil
}
