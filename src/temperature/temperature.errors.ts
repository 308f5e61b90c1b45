/** An observation for an entity with no `Registered` event on the log. */
export class UnregisteredEntityError extends Error {
  constructor(readonly entityId: string) {
    super(
      `Temperature entity ${entityId} is not registered; POST /api/temperature/${entityId}/registration first`,
    );
    this.name = UnregisteredEntityError.name;
  }
}
