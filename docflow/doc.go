// Package docflow runs the documents of a case: it generates the agreement, the session record, the confirmation
// sheet of an agreement signed on paper and the certificates of completion (with signing), collects device
// signatures in two steps, affixes seals, applies the court's signature on judicial confirmation, and runs the
// durable after-signature jobs. The rules it applies (who signs which field and when, the order, the seal last,
// the effect at the last party's signature, what confirmation needs) are pure functions in cases; the PDF and
// CMS work is signing's. docflow sits between them: it imports cases and signing, and cmd/parley only decodes,
// calls it and encodes.
//
// Keys (the CA, the TSA, the platform and seal keys) are loaded in keys.go; certificates for signers' device keys
// are issued in one place, Service.IssueSignerCertificate.
package docflow
