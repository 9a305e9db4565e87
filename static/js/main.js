// The playground page (/): the playground on its own socket, plus "Start a class".
import { $ } from './dom.js';
import { startPlayground } from './app.js';
import { startClassButton } from './room/start.js';

const { store } = startPlayground();
$('#start-class-root').append(startClassButton(() => location.hash.slice(1) || ''));
