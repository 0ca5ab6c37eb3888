// A binary min-heap of (due time, item): the scheduler's single timer only ever looks at the top.

/** Min-heap ordered by `due`, ties broken by insertion order so equal times stay FIFO. */
export class DueQueue<T> {
  private readonly heap: Array<{due: number; seq: number; item: T}> = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  /** The earliest due time, or undefined when empty. */
  peekDue(): number | undefined {
    return this.heap[0]?.due
  }

  push(due: number, item: T): void {
    const h = this.heap
    h.push({due, seq: this.seq++, item})
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(l, m)) m = l
        if (r < h.length && this.less(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top.item
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!
    const y = this.heap[b]!
    return x.due < y.due || (x.due === y.due && x.seq < y.seq)
  }

  private swap(a: number, b: number): void {
    const h = this.heap
    const t = h[a]!
    h[a] = h[b]!
    h[b] = t
  }
}
