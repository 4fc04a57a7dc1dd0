// A tiny HTTP app on the JDK's own com.sun.net.httpserver: GET / greets, GET /healthz says ok.
// One file, run as `java Main.java`, so the image needs the JRE only.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

public class Main {
  public static void main(String[] args) throws IOException {
    String greeting = System.getenv().getOrDefault("GREETING", "hello from java on herd");
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 64);
    server.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getPath();
      if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
        reply(exchange, 405, "method not allowed");
      } else if (path.equals("/")) {
        reply(exchange, 200, greeting);
      } else if (path.equals("/healthz")) {
        reply(exchange, 200, "ok");
      } else {
        reply(exchange, 404, "not found");
      }
    });
    server.setExecutor(Executors.newFixedThreadPool(4));
    // A stop sends SIGTERM: stop taking requests, give those in flight a second, then exit.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
    server.start();
    System.out.println("{\"msg\":\"listening\",\"port\":" + port + ",\"pid\":" + ProcessHandle.current().pid() + "}");
  }

  private static void reply(HttpExchange exchange, int status, String text) throws IOException {
    byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
