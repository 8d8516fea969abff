# The Atlas operator stand-in's network: runs inside its container, so names
# resolve with that container's resolver (namespace atlas-operator's search
# domains) and connections start from inside the Docker network.
# Protocol, one per connection: the client sends "HOST PORT\n"; the relay
# answers "OK ADDR\n" and then pipes bytes both ways, or "ERR MESSAGE\n".
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(inet_ntoa);

$| = 1;
$SIG{CHLD} = 'IGNORE';
my $srv = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 7000, Listen => 64, ReuseAddr => 1)
    or die "listen: $!";
print "relay listening\n";
while (1) {
    my $c = $srv->accept or next;
    my $pid = fork();
    if (!defined $pid || $pid) { close $c; next; }
    close $srv;
    my $line = '';
    while (1) {
        my $n = sysread($c, my $ch, 1);
        exit 0 unless $n;
        last if $ch eq "\n";
        $line .= $ch;
    }
    my ($host, $port) = split / /, $line;
    # gethostbyname goes through the resolver's search list, like Go's resolver in the real operator
    my @h = gethostbyname($host);
    if (!@h) {
        syswrite($c, "ERR lookup $host on 127.0.0.11:53: no such host\n");
        exit 0;
    }
    my $addr = inet_ntoa($h[4]);
    my $up = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => 'tcp', Timeout => 5);
    if (!$up) {
        my $why = "$!";
        $why = "connection refused" if $why =~ /refused/i;
        syswrite($c, "ERR dial tcp $addr:$port: connect: $why\n");
        exit 0;
    }
    syswrite($c, "OK $addr\n");
    my $sel = IO::Select->new($c, $up);
    while (my @r = $sel->can_read) {
        for my $s (@r) {
            my $n = sysread($s, my $buf, 65536);
            exit 0 unless $n;
            my $to = $s == $c ? $up : $c;
            my $off = 0;
            while ($off < $n) {
                my $w = syswrite($to, $buf, $n - $off, $off);
                exit 0 unless defined $w;
                $off += $w;
            }
        }
    }
    exit 0;
}
