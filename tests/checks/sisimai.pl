#!/usr/bin/perl
# The reference bounce classifier for tests/cli/inbound.rs: Sisimai (Debian libsisimai-perl 4.25).
# Usage: sisimai.pl FILE...   Prints one JSON object per line per bounced recipient Sisimai finds:
#   {"file", "recipient", "reason", "deliverystatus", "feedbacktype"}
# and {"file", "recipient": null} for a file in which it finds none (or on which it fails).
use strict;
use warnings;
use JSON::PP;
use Sisimai;

my $json = JSON::PP->new->canonical->utf8;
binmode STDOUT;
for my $path (@ARGV) {
    my $records = eval { Sisimai->make($path) } || [];
    print $json->encode({ file => $path, recipient => undef }), "\n" unless @$records;
    for my $r (@$records) {
        print $json->encode({
            file           => $path,
            recipient      => lc($r->recipient->address // ''),
            reason         => $r->reason // '',
            deliverystatus => $r->deliverystatus // '',
            feedbacktype   => $r->feedbacktype // '',
        }), "\n";
    }
}
