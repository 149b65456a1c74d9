// Package signing generates Parley's documents (mediation agreement 调解协议, session record 调解笔录 and the
// completion certificate) and signs and verifies them with PAdES signatures. It is a library: bytes in, bytes
// out, no HTTP handlers, no SQL. cmd/parley stores every version and the pending state in PostgreSQL and serves
// the endpoints.
//
// # Documents
//
// Generator renders A4 PDFs with gopdf from plain structs (Agreement, SessionRecord, Completion) in Chinese or
// English (Meta.Lang). Every page carries the case number, "第 n 页 / 共 m 页", the document ID and a QR code for
// <VerifyBaseURL>/verify?doc=<id>. Text uses a plain TrueType font (FindFont: LXGW WenKai, then AR PL SungtiL GB);
// only the glyphs used are embedded. Layout runs twice so the total page count is known on every page. After
// rendering, one incremental update adds an AcroForm with an empty signature field per expected signer, named
// sig-<role>-<n> (sig-applicant-1, sig-respondent-1, sig-mediator-1, …), sig-organisation for the organisation's
// seal and sig-platform on the completion certificate; Document.Fields lists them with page and rectangle.
// With fixed inputs (Meta.Created, no wall clock) the bytes are reproducible.
//
// # Signatures
//
// Each signature is a new incremental update appended to the exact bytes of the previous version: the signature
// dictionary (/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached, /ByteRange, /Contents, /M, /Name, /Reason,
// /Location), the new version of the prepared field with /V and its appearance (the drawn PNG with its alpha as
// SMask, name, role and time in a subset of the font embedded as a CIDFontType2 with a ToUnicode map; or, for
// seals without an image, a vector round seal), a /DSS, the catalog, and an xref section of the same kind as the
// file's last one (classic table or cross-reference stream) chained with /Prev. Nothing before the update changes,
// so every earlier signature stays valid. The page objects do not change when a prepared field is filled; signing
// a field that does not exist (Request.NewField, e.g. the court's confirmation) also extends the page's /Annots
// and the AcroForm's /Fields. pdfcpu parses the file (trailer, catalog, pages, AcroForm); the writer is Parley's.
//
// The CMS is assembled here rather than with digitorus/pkcs7, because the two-step flow must hand out the signed
// attributes before a signature exists and pkcs7 always adds a signing-time attribute, which PAdES forbids. The
// signed attributes are content-type (id-data), message-digest (SHA-256 of the byte ranges) and
// signing-certificate-v2 (RFC 5035); the claimed time is /M. An RFC 3161 token over the signature value is added
// as the unsigned attribute id-aa-timeStampToken (PAdES B-T).
//
// # Validation data (B-LT) and document timestamps (B-LTA)
//
// Validation data is not written in the signature's revision (it could only predate the signature). After a
// signature, AddValidation appends a DSS-only incremental update: every certificate of every signature's and
// timestamp's chain, OCSP responses and CRLs from a RevocationSource (CASource: Parley's CA signs them on the
// spot) produced after the latest signing or timestamp time, and, with ValidationOptions.VRI, one /VRI entry per
// signature. AddDocumentTimestamp then appends a /DocTimeStamp (/SubFilter /ETSI.RFC3161) over the whole file;
// MakeLTA does both. Archive reports the newest document timestamp and when it expires (its TSA certificate or
// AlgorithmExpiry), for renewing it with another MakeLTA. Request.Validation still puts material into the
// signature's own /DSS for callers that want that.
//
// # Keys held by the signer: two-step signing
//
// Parties and mediators sign with a P-256 key generated in their browser (WebCrypto, non-extractable); the CA
// certifies its public key (ParseDeviceKey, VerifyDeviceSignature for a proof of possession, CA.Issue). The
// server calls Prepare on the latest version, which returns a Pending: plain data (JSON via MarshalBinary) holding
// the SHA-256 and length of that base version, the appended bytes around the /Contents hole, the signed
// attributes and the certificates. Pending.ToBeSigned are the bytes the device signs with
// ECDSA {hash: "SHA-256"}; the raw r‖s it returns goes to Finish together with the base version re-read from the
// database. Finish refuses a different base (ErrStale), a signature that does not verify with the certificate's
// key (ErrBadSignature), and a Pending that does not match its own signed attributes; then it converts r‖s to
// DER, builds the CMS, timestamps it and fills /Contents. The server keeps no state between the two calls beyond
// the Pending it stored. Sign does both steps with a server-held key (organisation seals, the court, the
// platform), loaded with LoadPKCS12 or LoadKeyPairPEM.
//
// Concurrency: two signers of one document must be serialised by the caller. Lock the document row, read the
// latest version, Finish; on ErrStale, Prepare again on the latest version and ask the device to sign again
// (its earlier signature covered bytes that are no longer the end of the file). No update is lost because every
// Finish appends to the version it was checked against.
//
// # Timestamps: what Parley's own TSA proves
//
// Timestamper has two implementations: HTTPTimestamper (RFC 3161 over HTTP to a configured TSA) and LocalTSA,
// Parley's own TSA, which signs tokens with its own key and a certificate with the critical timeStamping extended
// key usage issued by Parley's CA; LocalTSA.Respond serves it over HTTP. A LocalTSA token only proves that the
// platform operator asserted that time: the operator controls both the clock and the key, so it adds nothing
// against the operator itself, and it is not a qualified or independent timestamp. It does bind the time to the
// signature value, so a signer cannot later claim another /M, and it makes tampering by anyone but the operator
// detectable. Where an independent time is needed (e.g. evidence for a court), configure a third-party TSA
// (for instance one operated under a national time service) with HTTPTimestamper.
//
// # Certificates
//
// CA is a self-signed root ("Parley Root CA – <operator>", P-256 or P-384), saved and loaded as PEM. Leaf
// certificates bind CN = name, OU = role, O = organisation and SERIALNUMBER = case number (a party's certificate
// is issued for one case), with digitalSignature + nonRepudiation and the extended key usages emailProtection
// (which NSS and openssl's default purpose require) and RFC 9336 document signing. CA.SetBaseURL writes a CRL
// distribution point and authority information access (OCSP, CA issuer) into issued certificates; CA.CRL issues
// CRLs, CA.OCSP and CA.RespondOCSP OCSP responses, CA.OnIssue records what the CA issued. Issuer is the interface
// an external CA implements instead. KeyRing seals server-held private keys with a key-encryption key kept
// outside the database.
//
// # Completion certificate: a separate signed PDF
//
// The audit record ("certificate of completion", like DocuSeal's) is a separate PDF generated from the Verify
// report plus the identity-check methods from the case, listing every signer, role, identity check, signing and
// timestamp times, certificate SHA-256 and the final document's SHA-256, and signed by the platform key in its
// field sig-platform. A final audit page inside the agreement was rejected: it would have to be added after the
// last signature, so that signature would no longer cover the whole document and every validator that checks
// what changed after a signature (Verify does) would see a new page; and a document cannot contain its own final
// hash. The separate file keeps
// every agreement signature "total document" clean; the lead links it to the document by SignedDocumentID and
// its hash.
//
// # Verification
//
// Verify reads the file with its own bounded parser (not pdfcpu) and resolves every revision as its own trailer and
// xref chain say, and the final document as a viewer of the final file reads it. It checks each signature's byte
// range (from byte 0 to the end of a revision, only the hex /Contents of that very dictionary left out), its CMS,
// its timestamp (imprint, TSA chain and revocation), the signer's chain and revocation (CRLs and OCSP in the
// /DSS), and reports its PAdES level (B-B, B-T, B-LT, B-LTA) and the document's; Parley's policy needs B-T or
// higher with a trusted TSA. Every revision after the first signature is compared object by object with the one
// before: only filling declared signature fields (appearance inside the box), DSS-only updates and document
// timestamps (or other signatures in new fields that show nothing) are allowed; anything else is a Modification
// with a code, what and where, and makes every earlier signature "modified after signing". Work is bounded
// (limits.go). Verify never panics and reports unreadable input as an error (ErrNotPDF for non-PDF input).
//
// Known limits: encrypted PDFs are refused; signatures inside object streams or with other SubFilters than
// ETSI.CAdES.detached / adbe.pkcs7.detached (and ETSI.RFC3161 for document timestamps) are reported as
// unsupported; the
// /Contents space is fixed at Prepare (Request.ContentsSize) and ErrContentsTooSmall after the device signed means
// preparing again with more room; pdfcpu v0.15.0's "signatures validate -a" stops with an error on files that
// still have empty signature fields, so only fully signed files can be checked with it (pdfsig and Verify handle
// both).
package signing
