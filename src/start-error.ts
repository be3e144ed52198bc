/** The start cannot go on: the message says what is wrong and what to change, on one line, without a stack. */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartError";
  }
}
