// Images: the Dom0 images the server holds (imported with `provisioner image import`).
import { get } from '../api.js';
import { h, fill, table, time, bytes } from '../dom.js';

export async function mount(main) {
  const list = h('div');
  fill(main, h('h1', {}, 'Images'),
    h('p', { class: 'muted' }, 'Signed Dom0 images; import one with ', h('code', {}, 'provisioner image import DIR'), '.'),
    list);
  async function refresh() {
    const { images } = await get('/api/v1/images');
    fill(list, table([
      { label: 'Image', cell: (i) => `${i.name}@${i.version}` },
      { label: 'Size', num: true, cell: (i) => bytes(i.raw_size) },
      { label: 'Stored', num: true, cell: (i) => bytes(i.stored_size) },
      { label: 'SHA-256', cell: (i) => h('span', { class: 'mono', title: i.image_sha256 }, i.image_sha256.slice(0, 16) + '…'), wide: true },
      { label: 'Imported', cell: (i) => time(i.imported_at), wide: true },
    ], images, 'No image imported yet.'));
  }
  await refresh();
  return { topics: ['images'], refresh };
}
