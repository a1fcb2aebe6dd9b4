// Sends /a/<path> to isolate A and /b/<path> to isolate B (location.capnp).
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    const [, which, ...rest] = url.pathname.split("/");
    const target = { a: env.A, b: env.B }[which];
    if (!target) return new Response("want /a/ or /b/", { status: 404 });
    url.pathname = "/" + rest.join("/");
    return target.fetch(new Request(url, request));
  },
};
