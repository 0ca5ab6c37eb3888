// The reference "naive Node server" of issue #7: every query decoded and its answer encoded with dns-packet,
// a weighted pick per query. It shows what Node's UDP path plus a general codec costs on this machine.
// Run: node --import tsx bench/naive-server.ts ADDRESS PORT
import dgram from 'node:dgram'
import dnsPacket from 'dns-packet'

const [address, port] = [process.argv[2] ?? '127.0.62.1', Number(process.argv[3] ?? 28353)]
const POOL: [string, number][] = [['127.0.10.1', 1], ['127.0.10.2', 2]]
const TOTAL = POOL.reduce((s, [, w]) => s + w, 0)

function pick(): string {
  let r = Math.random() * TOTAL
  for (const [a, w] of POOL) if ((r -= w) < 0) return a
  return POOL[0]![0]
}

const socket = dgram.createSocket('udp4')
socket.on('message', (msg, rinfo) => {
  let q: dnsPacket.Packet
  try {
    q = dnsPacket.decode(msg)
  } catch {
    return
  }
  const question = q.questions?.[0]
  if (!question) return
  const answers: dnsPacket.Answer[] = question.type === 'A' && question.name.toLowerCase() === 'www.glb.example.test'
    ? [{name: question.name, type: 'A', class: 'IN', ttl: 20, data: pick()}]
    : []
  const out = dnsPacket.encode({
    id: q.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
    questions: [question], answers,
  })
  socket.send(out, rinfo.port, rinfo.address)
})
socket.bind(port, address, () => process.stdout.write(`listening ${address}:${port}\n`))
process.on('SIGTERM', () => socket.close(() => process.exit(0)))
