// The CNN lab page (/cnn): the convolution explorer (app.js).
import { startCnn } from './app.js';

startCnn();
