// HTTPS prober: the HTTP prober over TLS; the time includes the TLS handshake, as a client would feel it.
import https from 'node:https'
import type http from 'node:http'
import {HttpProber} from './http.js'
import type {HttpProberOptions} from './http.js'

/** Time to response headers over a fresh TLS connection; certificate checked unless `rejectUnauthorized: false`. */
export class HttpsProber extends HttpProber {
  override readonly method = 'https' as const
  constructor(opts: HttpProberOptions = {}) {
    super(opts)
  }

  protected override request(options: https.RequestOptions): http.ClientRequest {
    return https.request(options)
  }
}
