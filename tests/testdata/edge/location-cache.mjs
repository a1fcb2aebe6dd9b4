// A data center's HTTP cache for workerd's Cache API (the cacheApiOutbound service): the
// isolates of one location share it, as they share Cloudflare's cache. It speaks workerd's
// cache protocol: PUT stores the serialized HTTP response in the body under the request's
// URL for its Cache-Control max-age; GET answers it with Cf-Cache-Status: HIT while fresh
// (with its Age), or MISS; PURGE deletes. Entries live in this isolate's memory.
const entries = new Map(); // url → { expires, stored, status, headers, body }

const latin1 = new TextDecoder("latin1");

/** Splits a serialized HTTP/1.1 response into status, headers and body. */
function parseResponse(bytes) {
  let end = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("no end of headers in the serialized response");
  const [statusLine, ...lines] = latin1.decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = bytes.subarray(end + 4);
  if ((headers.get("transfer-encoding") ?? "").toLowerCase() === "chunked") {
    const parts = [];
    let at = 0;
    for (;;) {
      let eol = at;
      while (!(body[eol] === 13 && body[eol + 1] === 10)) eol++;
      const size = Number.parseInt(latin1.decode(body.subarray(at, eol)), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      body.set(p, o);
      o += p.length;
    }
    headers.delete("transfer-encoding");
  }
  return { status, headers, body };
}

function maxAge(headers) {
  const m = /(?:^|,)\s*max-age=(\d+)/.exec(headers.get("cache-control") ?? "");
  return m ? Number(m[1]) : 0;
}

export default {
  async fetch(request) {
    const url = request.url;
    const now = Date.now();
    if (request.method === "PUT") {
      const r = parseResponse(new Uint8Array(await request.arrayBuffer()));
      const age = maxAge(r.headers);
      if (r.status === 200 && age > 0) entries.set(url, { expires: now + age * 1000, stored: now, ...r });
      return new Response(null, { status: 204 });
    }
    if (request.method === "PURGE") return new Response(null, { status: entries.delete(url) ? 200 : 404 });
    const e = entries.get(url);
    if (!e || e.expires <= now) {
      entries.delete(url);
      return new Response(null, { headers: { "cf-cache-status": "MISS" } });
    }
    const headers = new Headers(e.headers);
    headers.set("cf-cache-status", "HIT");
    headers.set("age", String(Math.floor((now - e.stored) / 1000)));
    return new Response(e.body.slice(), { status: e.status, headers });
  },
};
