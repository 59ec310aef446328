import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';

export const ts = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);
