import { OrchError } from '../util/errors.js';

/**
 * An event whose type is unknown or whose data does not match its schema.
 *
 * @example
 * throw new EventValidationError('AgentExited', 'exitCode: expected number', 12);
 */
export class EventValidationError extends OrchError {
  readonly eventType: string;

  constructor(eventType: string, problem: string, position?: number) {
    const where = position === undefined ? '' : ` at log position ${position}`;
    super('EVENT_INVALID', `event ${eventType}${where} is invalid: ${problem}`, {
      hint: 'see docs/events.md for the fields of each event type',
      details: { eventType, ...(position === undefined ? {} : { position }) },
    });
    this.eventType = eventType;
  }
}
