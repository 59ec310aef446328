import { type Timestamp, timestampFromDate } from '@bufbuild/protobuf/wkt';

export const ts = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);
