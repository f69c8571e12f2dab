/** What `f` throws; fails the test when it returns instead. */
export function thrown(f: () => unknown): unknown {
  try {
    f()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}
