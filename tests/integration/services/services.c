#define _GNU_SOURCE
/* Three small services for ecs5probe's tests, one static binary, chosen by argv[1]:
 *
 *   upload   HTTP on :8080. GET / answers 200; POST /upload writes the body into /var/lib/uploads
 *            (500 with the error when it cannot). Writes nothing else: only a client's upload writes.
 *   reporter Writes a report into /var/spool/reporter every REPORT_EVERY seconds (20); exits 1 when
 *            it cannot: a service whose only write comes late.
 *   hupd     Logs to /var/log/hupd/hupd.log only once told to reopen its log (SIGHUP), as daemons
 *            do after a rotation; exits 1 when it cannot.
 *   check    GET http://127.0.0.1:8080/ exits 0 on 200 (the upload image's HEALTHCHECK: no shell).
 *
 * SIGTERM ends each gracefully (exit 0). Built with gcc -static, run FROM scratch: no shell at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_now = 0, reopen = 0;
static void on_term(int s) { (void)s; stop_now = 1; }
static void on_hup(int s) { (void)s; reopen = 1; }

static void handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
}

static void reply(int fd, int code, const char *text) {
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                     code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Internal Server Error", strlen(text), text);
    if (write(fd, buf, n) < 0) { /* the client went away */ }
}

static long content_length(const char *head) {
    const char *p = strcasestr(head, "\r\nContent-Length:");
    return p ? strtol(p + 17, NULL, 10) : 0;
}

static void serve(int c) {
    static char req[1 << 20];
    static int uploads = 0;
    size_t got = 0;
    char *body = NULL;
    while (got < sizeof req - 1) {
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0) break;
        got += n;
        req[got] = 0;
        if ((body = strstr(req, "\r\n\r\n")) != NULL) {
            body += 4;
            long want = content_length(req);
            if ((long)(got - (body - req)) >= want) break;
        }
    }
    if (body == NULL) { close(c); return; }
    if (strncmp(req, "POST /upload", 12) == 0) {
        char path[256], msg[512];
        snprintf(path, sizeof path, "/var/lib/uploads/upload-%d-%d.bin", (int)getpid(), ++uploads);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            snprintf(msg, sizeof msg, "open %s: %s\n", path, strerror(errno));
            fprintf(stderr, "upload failed: %s", msg);
            reply(c, 500, msg);
        } else {
            long len = (long)(got - (body - req));
            if (write(fd, body, len) < 0) { /* reported by the size below */ }
            close(fd);
            snprintf(msg, sizeof msg, "stored %ld bytes\n", len);
            fprintf(stderr, "upload stored: %s", path);
            fputc('\n', stderr);
            reply(c, 200, msg);
        }
    } else if (strncmp(req, "GET / ", 6) == 0) {
        reply(c, 200, "ok\n");
    } else {
        reply(c, 404, "no\n");
    }
    close(c);
}

static int upload(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) { perror("listen :8080"); return 1; }
    fprintf(stderr, "listening on :8080\n");
    while (!stop_now) {
        int c = accept(s, NULL, NULL);
        if (c >= 0) serve(c);
    }
    return 0;
}

static int check(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[64] = {0};
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
    const char *get = "GET / HTTP/1.0\r\n\r\n";
    if (write(s, get, strlen(get)) < 0) return 1;
    if (read(s, buf, sizeof buf - 1) <= 0) return 1;
    return strncmp(buf, "HTTP/1.0 200", 12) == 0 ? 0 : 1;
}

static int reporter(void) {
    const char *every = getenv("REPORT_EVERY");
    int period = every ? atoi(every) : 20, n = 0;
    fprintf(stderr, "reporting every %d s\n", period);
    time_t next = time(NULL) + period;
    while (!stop_now) {
        sleep(1);
        if (time(NULL) < next) continue;
        next += period;
        char path[128];
        snprintf(path, sizeof path, "/var/spool/reporter/report-%d.txt", ++n);
        FILE *f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "cannot write report %s: %s\n", path, strerror(errno));
            return 1;
        }
        fprintf(f, "report %d\n", n);
        fclose(f);
        fprintf(stderr, "wrote %s\n", path);
    }
    return 0;
}

static int hupd(void) {
    fprintf(stderr, "hupd: running; SIGHUP reopens /var/log/hupd/hupd.log\n");
    int log = -1;
    while (!stop_now) {
        pause();
        if (reopen) {
            reopen = 0;
            if (log >= 0) close(log);
            log = open("/var/log/hupd/hupd.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (log < 0) {
                fprintf(stderr, "hupd: cannot reopen /var/log/hupd/hupd.log: %s\n", strerror(errno));
                return 1;
            }
            dprintf(log, "reopened\n");
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stderr, NULL, _IONBF, 0);
    handlers();
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "upload") == 0) return upload();
    if (strcmp(mode, "check") == 0) return check();
    if (strcmp(mode, "reporter") == 0) return reporter();
    if (strcmp(mode, "hupd") == 0) return hupd();
    fprintf(stderr, "usage: %s upload|check|reporter|hupd\n", argv[0]);
    return 2;
}
