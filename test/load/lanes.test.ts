import { Agent } from 'undici'
import { describe, expect, it } from 'vitest'
import { createLanes, lanesFrom } from '../../src/load/lanes.js'

describe('Lanes', () => {
  it('hands out the free lane idle longest, -1 when all are busy, in O(1)', async () => {
    const lanes = createLanes('http://127.0.0.1:9', { connections: 3, timeoutMs: 1000 })
    expect(lanes.size).toBe(3)
    expect([lanes.acquire(), lanes.acquire(), lanes.acquire()]).toEqual([0, 1, 2])
    expect(lanes.acquire()).toBe(-1)
    lanes.release(1)
    lanes.release(0)
    expect(lanes.inFlight(1)).toBe(0)
    // released in the order 1, 0: lane 1 has been idle longer
    expect(lanes.acquire()).toBe(1)
    expect(lanes.acquire()).toBe(0)
    expect(lanes.acquire()).toBe(-1)
    // releasing an idle lane or -1 changes nothing
    lanes.release(-1)
    lanes.release(2)
    lanes.release(2)
    expect(lanes.acquire()).toBe(2)
    expect(lanes.acquire()).toBe(-1)
    await lanes.close({ force: true })
  })

  it('cycles through every socket when only one request is out at a time', async () => {
    const lanes = createLanes('http://127.0.0.1:9', { connections: 4, timeoutMs: 1000 })
    const order: number[] = []
    for (let k = 0; k < 8; k++) {
      const i = lanes.acquire()
      order.push(i)
      lanes.release(i)
    }
    expect(order).toEqual([0, 1, 2, 3, 0, 1, 2, 3])
    await lanes.close({ force: true })
  })

  it('an injected dispatcher is one shared lane the caller keeps', async () => {
    const agent = new Agent()
    const lanes = lanesFrom(agent)
    expect([lanes.acquire(), lanes.acquire()]).toEqual([0, 0])
    expect(lanes.inFlight(0)).toBe(2)
    lanes.release(0)
    expect(lanes.inFlight(0)).toBe(1)
    await lanes.close()
    expect(agent.closed).toBe(false)
    await agent.close()
  })
})
