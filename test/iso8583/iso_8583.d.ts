/**
 * Types for the npm iso_8583 package (2.6.7), which ships none. It is a dev dependency used only
 * as a test oracle and a benchmark baseline for our codec; only the calls we make are declared.
 */
declare module 'iso_8583' {
  type IsoJson = Record<string, string>;
  interface IsoError {
    error: string;
  }
  class Iso8583 {
    constructor(message?: IsoJson, customFormats?: object, requiredFieldsSchema?: unknown);
    /** 2-byte binary length header, then MTI, bitmaps and fields. */
    getBufferMessage(): Buffer | IsoError;
    getIsoJSON(buffer: Buffer, config?: { lenHeader?: boolean; bitmapEncoding?: string }): IsoJson | IsoError;
  }
  export = Iso8583;
}
