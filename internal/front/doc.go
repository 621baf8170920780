// Package front is what the GitHub Action (cmd/action) and the CLI
// (cmd/metamint) both do, written once: the mint-verify-revoke flow
// around mint.Client.CreateVerifiedAccessToken with the calling token's
// expiry check beside it, the rendering of Graph errors, the escaping of
// untrusted text for each place it is printed (a log line, a workflow
// command's value, a terminal, Markdown), scope quoting and time
// formatting. Each front end keeps only how it talks to its user.
package front
