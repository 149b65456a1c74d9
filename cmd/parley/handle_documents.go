package main

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
)

// The document endpoints decode, call docflow (which applies the rules of cases and signs with signing) and
// encode: generate the agreement, the session record and the confirmation sheet of an agreement signed on paper,
// collect signatures (two-step device signing for parties and mediators, server keys for seals), download, verify.

type (
	agreementRequest = docflow.AgreementRequest
	installmentIn    = docflow.Installment
	recordDocRequest = docflow.RecordRequest
	offlineRequest   = docflow.OfflineRequest
	prepareRequest   = docflow.PrepareRequest
	prepareResponse  = docflow.PrepareResponse
	finishRequest    = docflow.FinishRequest
	documentResponse = docflow.View
	verifyResponse   = docflow.VerifyResult
	partyDetail      = docflow.PartyDetail
	preparedRevision = docflow.PreparedRevision
)

var keyProofMessage = docflow.KeyProofMessage

func describeDocument(p cases.Principal, c *cases.Case, d *cases.Document) documentResponse {
	return docflow.Describe(p, c, d)
}

func sha256Hex(b []byte) string { return docflow.SHA256Hex(b) }

// documentFor loads a document whose case the caller may see.
func (a *app) documentFor(r *http.Request) (*cases.Document, *cases.Case, error) {
	d, err := a.store.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	c, err := a.store.Case(r.Context(), d.CaseID)
	if err != nil {
		return nil, nil, err
	}
	if !cases.CanView(principal(r), c) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "document not found")
	}
	return d, c, nil
}

// caseForStaff loads a case the caller may see, unredacted (the callers below are its staff).
func (a *app) caseForStaff(r *http.Request) (*cases.Case, error) {
	c, err := a.store.CaseFor(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return a.store.Case(r.Context(), c.ID)
}

func handleAgreementCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		c, err := a.caseForStaff(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if err := cases.CheckDraft(p, c); err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[agreementRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		d, err := a.docs.CreateAgreement(r.Context(), p, c, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, describeDocument(p, c, d))
	})
}

// handleOfflineAgreement takes the scan of an agreement signed on paper and answers its confirmation sheet.
func handleOfflineAgreement(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		c, err := a.caseForStaff(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if err := cases.CheckDraft(p, c); err != nil {
			fail(w, r, a.log, err)
			return
		}
		// The body carries the scan in base64: up to the largest PDF accepted, and a third more.
		in, err := decode[offlineRequest](r, a.cfg.MaxPDFBytes/3*4+64<<10)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		d, err := a.docs.CreateOffline(r.Context(), p, c, in, a.cfg.MaxPDFBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, describeDocument(p, c, d))
	})
}

func handleRecordDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		ss, err := a.sessionForCaller(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		c, err := a.store.Case(r.Context(), ss.CaseID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if err := cases.CheckRecord(p, c); err != nil {
			fail(w, r, a.log, err)
			return
		}
		in := recordDocRequest{}
		if r.ContentLength != 0 {
			if in, err = decode[recordDocRequest](r, a.cfg.MaxBodyBytes); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		detail, err := a.store.SessionDetail(r.Context(), p, ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rec, err := a.store.Record(r.Context(), ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		d, err := a.docs.CreateRecord(r.Context(), p, c, detail, rec, in.Lang)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, describeDocument(p, c, d))
	})
}

func handleDocuments(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.store.CaseFor(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		docs, err := a.store.Documents(r.Context(), c.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := []documentResponse{}
		for i := range docs {
			out = append(out, describeDocument(principal(r), c, &docs[i]))
		}
		encode(w, http.StatusOK, out)
	})
}

func handleDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, describeDocument(principal(r), c, d))
	})
}

func handleDocumentPDF(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		v, err := intQuery(r, "version", 0, 0, 1<<20)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		inline, err := intQuery(r, "inline", 0, 0, 1)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		pdf, got, err := a.store.DocumentPDF(r.Context(), d.ID, v)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		name := fmt.Sprintf("%s-%s-v%d.pdf", d.Kind, strings.NewReplacer("（", "", "）", "-", "(", "", ")", "-", " ", "").Replace(c.Number), got)
		w.Header().Set("Content-Type", "application/pdf")
		disposition := "attachment"
		if inline == 1 {
			disposition = "inline" // shown where the link was tapped (WeChat's browser saves no downloads)
		}
		w.Header().Set("Content-Disposition", fmt.Sprintf("%s; filename=\"document-v%d.pdf\"; filename*=UTF-8''%s", disposition, got, urlPathEscape(name)))
		w.Header().Set("X-Content-SHA256", sha256Hex(pdf))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(pdf)
	})
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func handlePrepare(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[prepareRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.Prepare(r.Context(), principal(r), d.ID, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

func handleFinish(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		d, _, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[finishRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.Finish(r.Context(), p, d.ID, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, describeDocument(p, nil, out))
	})
}

func handleSeal(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		d, _, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.Seal(r.Context(), p, d.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, describeDocument(p, nil, out))
	})
}

func handleVerify(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "verify:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many verifications from your address: wait a minute"))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/pdf") && !strings.HasPrefix(ct, "application/octet-stream") {
			fail(w, r, a.log, &cases.Error{Code: "unsupported_media", Message: "send the PDF itself as the body, with Content-Type: application/pdf"})
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, a.cfg.MaxPDFBytes+1))
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "could not read the upload"))
			return
		}
		if int64(len(data)) > a.cfg.MaxPDFBytes {
			fail(w, r, a.log, cases.Errorf("too_large", "the file is larger than %d bytes", a.cfg.MaxPDFBytes))
			return
		}
		out, err := a.docs.Verify(r.Context(), data)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

// publicDocument is what anyone holding a document's QR code may learn about it: not its content, only
// whether a file in their hands is a genuine version.
type publicDocument struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Status   string          `json:"status"`
	Versions []publicVersion `json:"versions"`
}

type publicVersion struct {
	Version   int       `json:"version"`
	SHA256    string    `json:"sha256"`
	Role      string    `json:"signer_role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func handlePublicDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := a.store.Document(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := publicDocument{ID: d.ID, Kind: d.Kind, Status: d.Status, Versions: []publicVersion{}}
		for _, v := range d.Versions {
			out.Versions = append(out.Versions, publicVersion{Version: v.Version, SHA256: v.SHA256, Role: v.SignerRole, CreatedAt: v.CreatedAt})
		}
		encode(w, http.StatusOK, out)
	})
}

func handleRootCert(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="parley-root-ca.pem"`)
		for _, c := range a.docs.Keys.CA.Chain() {
			w.Write(pemCert(c))
		}
	})
}

func handleCRL(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crl, err := a.docs.Keys.CurrentCRL()
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Write(crl)
	})
}

func handleTSA(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.docs.Keys.Local == nil {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "this server uses an external timestamp authority (%s)", a.cfg.TSAURL))
			return
		}
		if !a.allowTSA(r.Context(), a.clientIP(r)) {
			w.Header().Set("Retry-After", "60")
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many timestamp requests from your address: try again in a minute"))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/timestamp-query" {
			fail(w, r, a.log, &cases.Error{Code: "unsupported_media", Message: "send an RFC 3161 request with Content-Type: application/timestamp-query"})
			return
		}
		req, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "could not read the request"))
			return
		}
		resp, err := a.docs.Keys.Local.Respond(req)
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "not a timestamp request: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	})
}

func pemCert(c *x509.Certificate) []byte { return pemEncode("CERTIFICATE", c.Raw) }

func pemEncode(typ string, der []byte) []byte {
	var b strings.Builder
	b.WriteString("-----BEGIN " + typ + "-----\n")
	enc := base64.StdEncoding.EncodeToString(der)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END " + typ + "-----\n")
	return []byte(b.String())
}
