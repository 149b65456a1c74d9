// Package web is Parley's front end: plain HTML, CSS and JavaScript ES modules embedded in the binary with
// //go:embed, and the http.Handler that serves them.
//
// There is no build step. The browser loads one HTML shell for every page of the single-page application; the
// shell loads js/app.js, which reads the user's language, asks the API who is logged in and hands the address to
// a small client-side router (js/router.js, route table in js/routes.js). Each page is an ES module under
// js/views/ loaded on demand, so a party opening an invitation link on a phone fetches only what that page needs.
//
// Every user-visible string lives in the dictionaries i18n/zh-CN.json (the default) and i18n/en.json; the tests
// check that both have the same keys and that the scripts hold no hard-coded UI text.
//
// Static files are served under /assets/<version>/, where the version is a hash of every embedded file: a page
// always loads the assets of the build that served it, and the assets can be cached for a year
// (immutable). The HTML shell is never cached and carries a strict Content-Security-Policy (scripts and styles
// only from this origin, no inline script, no framing). Files are gzip-compressed once at start-up and sent
// compressed to browsers that accept it. ETags let a browser revalidate cheaply.
//
// Besides the assets and the shell the handler serves the web app manifest (/manifest.webmanifest, icons of this
// build, for adding Parley to a phone's home screen) and two small helpers: /qr.svg draws a QR code (with
// rsc.io/qr) for a page of this server so a desktop user can continue on a phone, and /netcheck returns a block
// of bytes the device-check page times to estimate the connection. The handler imports no other Parley package:
// it knows the API only as the URLs the scripts call.
//
// Pages that need optional features (the video room; the signing and verify pages) are declared in the route
// table with a feature name; they are served, and linked, only when Options.Features lists it (cmd/parley lists
// both).
//
// The video room (js/room/) is a client of docs/signaling.md written from it: session.js keeps the protocol
// (join token, WebSocket, a publisher and a subscriber RTCPeerConnection, trickle ICE, renegotiation,
// reconnection with the resume token within the server's grace) as state and events; tiles.js and panels.js
// draw the tiles, the chat and the mediator's controls; views/room.js puts them on the page. Signing (js/sign/)
// follows docs/signing.md: a non-extractable P-256 WebCrypto key per case and signer kept in IndexedDB, the key
// proof, prepare, the device signature over what the server prepared, finish; pages.js shows the document's
// pages, pad.js is the signature pad (pointer events), report.js words a verification report.
package web
