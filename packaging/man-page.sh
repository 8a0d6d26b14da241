#!/bin/sh
# Writes a man page (roff, section 1) for an exporter from its own `--help` and `--version`, so
# the page cannot drift from the flags: NAME and DESCRIPTION from the first line of --help (the
# crate's description), OPTIONS verbatim, FILES from the packaged paths.
# Usage: man-page.sh <binary> > <name>.1
set -eu
bin=${1:?usage: man-page.sh <binary>}
name=$(basename "$bin")
version=$("$bin" --version | awk '{print $2}')
help=$("$bin" --help)
diagnose_help=$("$bin" diagnose --help)
summary=$(printf '%s\n' "$help" | head -n 1)
# roff: a leading dot or quote would be read as a request, a backslash as an escape.
escape() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
cat <<ROFF
.TH $(printf '%s' "$name" | tr '[:lower:]' '[:upper:]') 1 "" "$name $version" "ops exporter suite"
.SH NAME
$name \- $(printf '%s' "$summary" | escape)
.SH SYNOPSIS
.B $name
[\fIOPTIONS\fR]
.br
.B $name diagnose
[\fIOPTIONS\fR]
.SH DESCRIPTION
A Prometheus exporter of the ops exporter suite: it serves \fB/metrics\fR (and \fB/-/healthy\fR)
over HTTP, or HTTPS with basic auth under \fB\-\-web.config.file\fR. Without
\fB\-\-config.file\fR it runs on its embedded defaults.
.SH OPTIONS
.nf
$(printf '%s\n' "$help" | sed -n '/^Options:/,$p' | sed 1d | escape)
.fi
.SH DIAGNOSE
\fB$name diagnose\fR walks the troubleshooting procedure of the exporter's source document on
this host with the same configuration and checks, prints each step's evidence and a verdict with
the document's remedy, and exits: 0 when no fault is found, 1 when it names a cause. It changes
nothing. Its options, besides \fB\-\-config.file\fR, \fB\-\-log.*\fR and \fB\-\-path.*\fR:
.nf
$(printf '%s\n' "$diagnose_help" | sed -n '/^Options:/,/^  *--config.file/p' | sed '1d;$d' | escape)
.fi
.SH FILES
.TP
.I /etc/$name/$name.toml
The configuration the packaged service starts with; check a change with
\fB$name \-\-config.file=/etc/$name/$name.toml \-\-config.check\fR.
.TP
.I $name.service
The systemd unit (under /usr/lib/systemd/system or /lib/systemd/system): its user,
capabilities and writable paths; \fBsystemctl cat $name\fR shows it.
.SH EXIT STATUS
0 after a clean shutdown or a valid \fB\-\-config.check\fR; 2 for a configuration or
command-line error, reported in one line.
.SH SEE ALSO
The suite's docs/deployment.md (privileges, installation) and docs/metrics.md (every metric).
ROFF
