#!/usr/bin/perl
# The Sisimai peer of the bounce-classification case of scripts/bench: Sisimai (Debian
# libsisimai-perl) on every message of a corpus, timed in-process (the interpreter's start and
# Sisimai's loading are not counted), median of RUNS passes.
#
# perl benches/sisimai_peer.pl CORPUS_DIR RUNS  prints  median_s=... files=... records=...
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);

my ($dir, $runs) = @ARGV;
opendir(my $dh, $dir) or die "$dir: $!";
my @files = map { "$dir/$_" } sort grep { /\.eml$/ } readdir($dh);
closedir($dh);
my (@times, $records);
for (1 .. ($runs > 0 ? $runs : 1)) {
    $records = 0;
    my $started = time;
    for my $path (@files) {
        my $found = eval { Sisimai->make($path) } || [];
        $records += scalar @$found;
    }
    push @times, time - $started;
}
@times = sort { $a <=> $b } @times;
printf "median_s=%.4f files=%d records=%d\n", $times[int($#times / 2)], scalar @files, $records;
