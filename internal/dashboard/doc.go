// Package dashboard is the web dashboard of `handoff serve`, served at /:
// tasks with live updates and cancel, a task's verdict (the acceptance
// funnel, dropped tests, coverage per function, the kept test file, its
// log), recorded pipeline runs, live workers, and River's own UI for admin
// tokens.
//
// Pages are rendered on the server from html/template with their assets
// embedded; they read without JavaScript, and a small script keeps them
// live. A person signs in with an API token: the dashboard keeps an opaque
// session in memory and sets its ID in an HttpOnly, SameSite=Strict cookie
// (Secure under TLS); clients may send the token as a bearer header
// instead. Every form that changes something carries a per-session CSRF
// token and passes a cross-origin check (Sec-Fetch-Site, Origin).
package dashboard
